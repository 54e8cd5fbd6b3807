"""The demo county's responsibility list: the 51-item default catalogue loaded as the
province's guidance version, and 清河县's own list derived from it with local items,
split items and one removal. Idempotent: an existing published list is left alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog import services as catalog_services
from xianghu.catalog.io import default_steps, read_csv, validate_rows
from xianghu.catalog.models import Catalogue, ListVersion, ScopeLevel
from xianghu.catalog.specs import ItemSpec, PartySpec
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Region

DEFAULT_CATALOGUE = (
    Path(__file__).resolve().parent.parent / "catalog" / "data" / "default-catalog.csv"
)
GUIDANCE_NAME = "山东省县乡属地管理事项指导目录（示范）"
COUNTY_LIST_NAME = "清河县属地管理事项清单"


@dataclass(frozen=True)
class DemoLists:
    guidance: ListVersion
    county: ListVersion


def _item(
    code: str,
    domain: tuple[str, str],
    name: str,
    primary: tuple[str, ...],
    assisting: tuple[str, ...],
    primary_duties: str,
    cooperating_duties: str,
    respond: str,
    complete: str,
    keywords: str,
    legal_basis: str = "",
) -> ItemSpec:
    spec = ItemSpec(
        code=code,
        domain_code=domain[0],
        domain_name=domain[1],
        name=name,
        primary_level="county",
        primary_duties=primary_duties,
        cooperating_duties=cooperating_duties,
        respond_limit=respond,
        complete_limit=complete,
        keywords=keywords,
        legal_basis=legal_basis,
        source="L",
        primary=tuple(PartySpec(n) for n in primary),
        assisting=tuple(PartySpec(n) for n in assisting),
    )
    return replace(spec, steps=default_steps(spec=spec))


SAFETY = ("D1", "安全生产与应急管理")
ECOLOGY = ("D2", "生态环境保护")
CITY = ("D4", "城乡建设与管理")
MARKET = ("D5", "市场监管")
FARM = ("D6", "农业农村与水利")
SOCIAL = ("D7", "社会事业与综合治理")

LOCAL_ITEMS = (
    _item(
        "QH-L01",
        FARM,
        "清河水库库区违规垂钓、游泳",
        ("水利局",),
        ("公安局",),
        "库区管理、安全警示设施设置、执法查处",
        "巡查劝阻、发现报告、配合设置警示标志",
        "2h",
        "3wd",
        "水库,垂钓,游泳,溺水",
        "《水库大坝安全管理条例》",
    ),
    _item(
        "QH-L02",
        FARM,
        "高标准农田设施管护",
        ("农业农村局",),
        ("水利局",),
        "管护制度制定、设施维修、监督检查",
        "日常巡查、损毁报告、协助维修",
        "24h",
        "10wd",
        "高标准农田,灌溉,农田设施",
        "《农田水利条例》",
    ),
    _item(
        "QH-L03",
        SOCIAL,
        "校园周边安全隐患整治",
        ("教育局",),
        ("公安局", "市场监管局", "综合行政执法局"),
        "统筹整治、联合执法、督导检查",
        "巡查摸排、信息报告、协助整治",
        "24h",
        "5wd",
        "校园周边,学校,占道,食品摊点",
        "《中小学幼儿园安全管理办法》",
    ),
)

SPLITS = {
    "D4-03": (
        _item(
            "D4-03-1",
            CITY,
            "城区主次干道占道经营",
            ("综合行政执法局",),
            (),
            "执法查处、规范设置疏导点",
            "巡查劝导、发现报告",
            "2h",
            "3wd",
            "占道经营,城区,主干道",
        ),
        _item(
            "D4-03-2",
            CITY,
            "集镇集市流动摊贩管理",
            ("综合行政执法局",),
            ("市场监管局",),
            "集市秩序执法、食品摊点监管",
            "集市日巡查、劝导、信息报告",
            "2h",
            "3wd",
            "流动摊贩,集市,集镇",
        ),
    ),
    "D5-01": (
        _item(
            "D5-01-1",
            MARKET,
            "食品小作坊生产安全",
            ("市场监管局",),
            (),
            "登记、抽检、执法查处",
            "摸底建档、巡查报告",
            "24h",
            "5wd",
            "小作坊,食品生产",
        ),
        _item(
            "D5-01-2",
            MARKET,
            "小餐饮、小摊点经营安全",
            ("市场监管局",),
            ("综合行政执法局",),
            "备案、检查、执法查处",
            "巡查、报告、协助规范经营",
            "24h",
            "5wd",
            "小餐饮,小摊点,食品经营",
        ),
    ),
}

REMOVALS = {"D7-04": "本县境内无田野文物保护单位，相关巡查纳入文化市场事项统一管理。"}


def lists_in_force_from() -> datetime:
    """When the demo lists take effect: 1 January of last year, so that the calls of the
    demo history (at most a year back, `history.py`) were made under the list in force."""
    return datetime(timezone.localdate().year - 1, 1, 1, tzinfo=CHINA_TZ)


@transaction.atomic
def build_demo_lists(*, county: Region, province: Region) -> DemoLists:
    guidance_catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.PROVINCE, region=province, name=GUIDANCE_NAME
    )
    guidance = catalog_selectors.version_in_force(catalogue=guidance_catalogue)
    if guidance is None:
        specs = validate_rows(rows=read_csv(data=DEFAULT_CATALOGUE.read_bytes()))
        draft = catalog_services.version_create_draft(
            catalogue=guidance_catalogue, specs=specs, title=f"{GUIDANCE_NAME}（第1版）"
        )
        guidance = catalog_services.version_publish(version=draft, at=lists_in_force_from())
    catalogue: Catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=county, name=COUNTY_LIST_NAME, guidance=guidance_catalogue
    )
    version = catalog_selectors.version_in_force(catalogue=catalogue)
    if version is None:
        draft = catalog_services.version_derive(
            catalogue=catalogue,
            guidance=guidance,
            title=f"{COUNTY_LIST_NAME}（第1版）",
            local=LOCAL_ITEMS,
            splits=SPLITS,
            removals=REMOVALS,
        )
        version = catalog_services.version_publish(version=draft, at=lists_in_force_from())
    return DemoLists(guidance=guidance, county=version)
