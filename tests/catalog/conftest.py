"""A small guidance catalogue and the world county's list derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import province
from xianghu.catalog import services
from xianghu.catalog.models import Catalogue, ListVersion, ScopeLevel
from xianghu.catalog.specs import ItemSpec, PartySpec, StepSpec

STEPS = (
    StepSpec("乡镇巡查发现并报告", "township", "", "乡镇呼叫：问题移交县级平台"),
    StepSpec("主体责任部门依法处置办结", "primary", "5wd", "办结反馈乡镇"),
)


def spec(
    code: str,
    name: str,
    *,
    primary=("应急管理局",),
    assisting=(),
    level="county",
    domain=("D1", "安全生产与应急管理"),
    **kw: Any,
) -> ItemSpec:
    return ItemSpec(
        code=code,
        domain_code=domain[0],
        domain_name=domain[1],
        name=name,
        primary_level=level,
        primary_duties=kw.pop("primary_duties", "执法检查、行政处罚"),
        cooperating_duties=kw.pop("cooperating_duties", "日常巡查、发现报告、配合检查"),
        respond_limit=kw.pop("respond_limit", "24h"),
        complete_limit=kw.pop("complete_limit", "5wd"),
        primary=tuple(PartySpec(n) for n in primary),
        assisting=tuple(PartySpec(n) for n in assisting),
        steps=STEPS,
        **kw,
    )


GUIDANCE_SPECS = [
    spec("D1-01", "工矿商贸企业安全生产监管", keywords="安全生产,隐患"),
    spec(
        "D1-04",
        "烟花爆竹非法生产经营",
        assisting=("公安局",),
        respond_limit="30m",
        complete_limit="3wd",
    ),
    spec(
        "D2-09",
        "秸秆禁烧",
        primary=(),
        assisting=("应急管理局",),
        level="township",
        domain=("D2", "生态环境保护"),
        primary_duties="网格巡查、劝阻、处置",
        cooperating_duties="执法查处、技术支持",
    ),
    spec("D7-04", "文物安全与田野文物保护", primary=("公安局",)),
]


@dataclass
class Lists:
    guidance_catalogue: Catalogue
    guidance: ListVersion
    catalogue: Catalogue
    version: ListVersion


@pytest.fixture
def lists(world) -> Lists:
    """Guidance v1 (4 items) → the county's list v1: D1-04 split in two, D7-04 removed,
    one local item; published."""
    guidance_catalogue = services.catalogue_get_or_create(
        level=ScopeLevel.PROVINCE, region=province(), name="山东省县乡属地管理事项指导目录"
    )
    guidance = services.version_create_draft(
        catalogue=guidance_catalogue, specs=GUIDANCE_SPECS, title="指导目录（第1版）"
    )
    services.version_publish(version=guidance)
    catalogue = services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY,
        region=world.county,
        name="清河县属地管理事项清单",
        guidance=guidance_catalogue,
    )
    version = services.version_derive(
        catalogue=catalogue,
        guidance=guidance,
        title="清河县属地管理事项清单（第1版）",
        splits={
            "D1-04": [
                spec("D1-04-1", "烟花爆竹非法生产", respond_limit="30m", complete_limit="3wd"),
                spec(
                    "D1-04-2",
                    "烟花爆竹非法经营储存",
                    assisting=("公安局",),
                    respond_limit="30m",
                    complete_limit="3wd",
                ),
            ]
        },
        removals={"D7-04": "本县无田野文物，纳入其他事项管理"},
        local=[
            spec(
                "QH-01",
                "水库周边违规垂钓游泳",
                primary=("公安局",),
                domain=("D7", "社会事业与综合治理"),
            )
        ],
    )
    services.version_publish(version=version)
    return Lists(guidance_catalogue, guidance, catalogue, version)
