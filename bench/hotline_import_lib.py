"""Synthetic 12345 tickets for the hotline import benchmark (and its small test).

`write_tickets` writes a CSV in the headings a 12345 system exports, in GBK by default,
deterministic for a seed. A small share of rows is wrong on purpose, so the benchmark
also measures the error path: unreadable dates (1 in 2,000), a number repeated from an
earlier row (1 in 2,000) and a region code of another county (1 in 2,000).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HEADINGS = (
    "工单编号",
    "来源渠道",
    "来电时间",
    "来电人",
    "来电号码",
    "诉求类型",
    "诉求分类",
    "标题",
    "诉求内容",
    "事发地址",
    "区划代码",
    "紧急程度",
    "承办单位",
    "办理时限",
    "办理结果",
    "回访结果",
    "满意度",
    "工单状态",
)
TYPES = ("咨询", "求助", "投诉", "举报", "建议", "感谢", "其他")
TYPE_WEIGHTS = (30, 15, 30, 8, 10, 2, 5)
CHANNELS = ("电话", "网站", "微信", "APP", "短信")
CATEGORIES = (
    "城乡建设/市容环境/占道经营",
    "城乡建设/市政设施/路灯损坏",
    "农业农村/农村人居环境/垃圾清运",
    "生态环境/大气污染/秸秆焚烧",
    "社会保障/劳动关系/拖欠工资",
    "交通运输/道路交通/道路破损",
    "公共安全/消防安全/违规用火",
    "民政/社会救助/困难救助",
)
PROBLEMS = (
    "路灯不亮已经一周，夜间出行不便，请尽快维修。",
    "村口垃圾堆积无人清运，气味很大，影响周边居民生活。",
    "有人在田里焚烧秸秆，烟雾很大，请相关部门处理。",
    "在工地干活半年，老板拖欠工资至今未付，请求帮助讨要。",
    "道路有大坑，雨天积水严重，车辆行人通行困难。",
    "门市房门前长期占道经营，堵塞交通。",
    "家中老人生活困难，咨询低保申请需要什么材料。",
    "厂房内堆放大量易燃物品，存在火灾隐患。",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
UNITS = ("城关街道", "县住建局", "县农业农村局", "县生态环境分局", "县人社局", "县交通运输局")
RESULTS = ("已联系来电人，问题已解决。", "已安排人员现场处理。", "已答复来电人相关政策。", "")
FOLLOWUPS = ("来电人表示满意。", "来电人表示基本满意。", "未接通。", "")
SATISFACTION = ("满意", "基本满意", "不满意", "")
STATUSES = ("已办结", "办理中", "已回访", "待签收")


@dataclass(frozen=True)
class Place:
    code: str
    name: str  # a township (镇/乡/街道) or village (村/社区)
    township: str


@dataclass
class Written:
    rows: int
    bad_dates: int
    duplicates: int
    outside: int
    path: Path


def write_tickets(
    path: Path,
    *,
    rows: int,
    places: Sequence[Place],
    county_code: str,
    seed: int = 12345,
    encoding: str = "gbk",
    start: datetime = datetime(2025, 1, 1, 8, 0),  # noqa: DTZ001  (wall-clock text)
) -> Written:
    rng = random.Random(seed)
    bad_dates = duplicates = outside = 0
    written_numbers: list[str] = []
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADINGS)
        for i in range(rows):
            number = f"GD{start:%Y}{i + 1:09d}"
            received = start + timedelta(seconds=i * 31 + rng.randrange(30))
            received_text = received.strftime("%Y-%m-%d %H:%M:%S")
            place = places[rng.randrange(len(places))]
            code = place.code if rng.random() < 0.5 else ""
            roll = rng.randrange(2000)
            if roll == 0 and i:
                received_text = "2025-13-45 25:61"  # unreadable
                bad_dates += 1
            elif roll == 1 and written_numbers:
                number = written_numbers[rng.randrange(len(written_numbers))]
                duplicates += 1
            elif roll == 2:
                code = "371299101"  # a township of another county
                outside += 1
            if len(written_numbers) < 1000:
                written_numbers.append(number)
            problem = PROBLEMS[rng.randrange(len(PROBLEMS))]
            name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
            writer.writerow(
                (
                    number,
                    CHANNELS[rng.randrange(len(CHANNELS))],
                    received_text,
                    name + ("某" if rng.random() < 0.3 else ""),
                    f"1{rng.randrange(30, 90)}{rng.randrange(10**8):08d}",
                    rng.choices(TYPES, TYPE_WEIGHTS)[0],
                    CATEGORIES[rng.randrange(len(CATEGORIES))],
                    problem[:12],
                    f"来电人反映：{place.township}{place.name if place.name != place.township else ''}"
                    f"{problem}（第{i % 97 + 1}次来电）",
                    f"清河县{place.township}{place.name if place.name != place.township else ''}"
                    f"{rng.randrange(1, 200)}号",
                    code,
                    "紧急" if rng.random() < 0.1 else "一般",
                    UNITS[rng.randrange(len(UNITS))],
                    (received + timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S"),
                    RESULTS[rng.randrange(len(RESULTS))],
                    FOLLOWUPS[rng.randrange(len(FOLLOWUPS))],
                    SATISFACTION[rng.randrange(len(SATISFACTION))],
                    STATUSES[rng.randrange(len(STATUSES))],
                )
            )
    return Written(rows, bad_dates, duplicates, outside, path)


def places_of(county_code: str) -> list[Place]:
    """The county's townships and villages (Django must be set up)."""
    from xianghu.regions.models import Region
    from xianghu.regions.roles import RegionLevel

    county = Region.objects.get(code=county_code, level=RegionLevel.COUNTY)
    found = []
    for region in Region.objects.filter(
        path__startswith=county.path, level__in=(RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)
    ).select_related("parent"):
        parent = region.parent if region.level == RegionLevel.VILLAGE else None
        township = parent.name if parent is not None else region.name
        found.append(Place(region.code, region.name, township))
    found.sort(key=lambda p: p.code)
    return found
