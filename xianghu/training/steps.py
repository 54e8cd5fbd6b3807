"""The guided steps of the practice loop, as data.

One entry per step of the call loop, in order. `action` is the workflow action the step
asks for (the button `do-<action>` on the call page); a step is done once the practice
call's event log holds that action (`selectors.practice_progress`), so the guide follows
what the real services recorded and never keeps a workflow of its own. `role` is the
practice identity that may take the step.

The texts are training content written in Chinese for the officials who read them (like
the demo data), not interface labels; the rules they quote are the defaults of
docs/workflow.md and the practice list's items (QH-L01: respond 2 hours, finish in 3
working days).
"""

from __future__ import annotations

from typing import Final, TypedDict

from .models import PracticeRole


class Step(TypedDict):
    key: str
    role: str
    action: str
    title: str
    click: str
    why: str
    rule: str


STEPS: Final[tuple[Step, ...]] = (
    {
        "key": "submit",
        "role": PracticeRole.TOWNSHIP_STAFF,
        "action": "submit",
        "title": "乡镇工作人员：提交呼叫",
        "click": "在练习呼叫（草稿）页面核对标题、地点和清单事项，点击“提交”。",
        "why": "乡镇在履行配合职责时发现需要县直部门处置的问题，通过“乡呼”把问题交给县里；草稿只有提交后才进入流程。",
        "rule": "呼叫应选择清单内事项（本例为 QH-L01 水库库区违规垂钓、游泳），清单外事项也可呼叫但会被单独统计；提交后由本乡镇领导审核。",
    },
    {
        "key": "approve",
        "role": PracticeRole.TOWNSHIP_LEADER,
        "action": "approve",
        "title": "乡镇领导：审核并报送平台",
        "click": "切换为“乡镇领导”，打开同一条呼叫，点击“审核通过并报送平台”；如内容不实可“退回修改”并写明理由。",
        "why": "乡镇领导把关，确保呼叫的是县直部门的主体责任，而不是把乡镇自己的职责推给县里。",
        "rule": "属于乡镇主体责任的事项，县里只能作为协助请求受理，不能转移责任。",
    },
    {
        "key": "accept",
        "role": PracticeRole.PLATFORM_OPERATOR,
        "action": "accept",
        "title": "平台操作员：受理",
        "click": "切换为“平台操作员”，打开呼叫，核对清单事项后点击“受理”；不属于县里的可“退回呼叫方”并说明理由。",
        "why": "县乡呼县应指挥中心统一受理、派单和督办，保证每个呼叫都有人接。",
        "rule": "一般呼叫应在 0.5 个工作日内受理并派单（紧急 30 分钟）；超时系统自动亮黄牌、红牌。",
    },
    {
        "key": "dispatch",
        "role": PracticeRole.PLATFORM_OPERATOR,
        "action": "dispatch",
        "title": "平台操作员：按清单派单",
        "click": "在“派单”表单中确认主办单位为清单的主责部门（水利局），协办单位为公安局，点击“派单”。",
        "why": "“依单派单”：清单写明谁是主责、谁是协办，派单照清单办，事后也按清单追责、免责。",
        "rule": "一个呼叫只有一个主办单位，可有多个协办单位；主办单位办结即办结，各单位各自计时。",
    },
    {
        "key": "sign",
        "role": PracticeRole.DEPARTMENT_HANDLER,
        "action": "sign",
        "title": "部门经办人：签收",
        "click": "切换为“部门经办人”（水利局），打开呼叫，点击“签收”。",
        "why": "签收表示部门认领任务，响应、办结的时限从派单起算。",
        "rule": "一般呼叫 2 个工作小时内签收（紧急 30 分钟）；认为不属于本部门的，须在 1 个工作日内申请退单并写明理由，由平台裁定。",
    },
    {
        "key": "respond",
        "role": PracticeRole.DEPARTMENT_HANDLER,
        "action": "respond",
        "title": "部门经办人：响应",
        "click": "在“响应”表单中选择“已联系乡镇”，点击“响应”（到现场的响应需要上传现场照片）。",
        "why": "响应是县直部门对乡镇的第一次答复，考核中的“响应率”即来自这一步。",
        "rule": "本事项要求 2 小时内响应（默认一般呼叫 24 小时）；超时计入响应率并亮牌。",
    },
    {
        "key": "complete",
        "role": PracticeRole.DEPARTMENT_HANDLER,
        "action": "complete",
        "title": "部门经办人：办结并上传证据",
        "click": "在“报告结果”表单中写明处置结果，上传整改照片，点击“报告结果”。",
        "why": "结果和照片是“尽职免责”的依据：按清单履职并留痕的，出了问题可以免责。",
        "rule": "本事项 3 个工作日内办结；确需延期的在办理中申请，一般最多 2 次、累计不超过 10 个工作日。",
    },
    {
        "key": "evaluate",
        "role": PracticeRole.TOWNSHIP_LEADER,
        "action": "evaluate",
        "title": "乡镇领导：评价",
        "click": "切换为“乡镇领导”，打开呼叫，选择满意度和问题是否解决，点击“评价”。",
        "why": "“双向考核”：乡镇对县直部门的评价占部门考核得分的三分之一，对派驻机构不少于 60%。",
        "rule": "3 个工作日内评价，逾期系统按默认评价关闭并标记；“不满意”会退回重办，重办后仍不满意将督办。",
    },
)

BY_KEY: Final[dict[str, Step]] = {s["key"]: s for s in STEPS}
