"""The planted problems of the generated history and the texts their tickets are written in.

Each problem has one process step, one root-cause code, the teams that meet it, a priority mix
(its severity) and a trend; its tickets are written from the Chinese and English templates below.
``[a|b|c]`` picks one alternative, ``{slot}`` is filled from :data:`FILLS` of the ticket's language,
so no two tickets read quite alike while the problem's own words recur (as real complaints do).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    key: str
    step: str  # the process step where the service failed (the policy's checklist steps)
    root_cause: str
    teams: tuple[str, ...]  # more than one: a hand-off problem between departments
    category: str
    priorities: tuple[str, ...]  # drawn uniformly: the problem's severity
    trend: str  # "rising", "falling" or "flat" over the generated period
    weight: float  # share of all failures
    zh: tuple[str, ...]
    en: tuple[str, ...]


PROBLEMS: tuple[Problem, ...] = (
    Problem("leak_misdiagnosis", "diagnosis", "misdiagnosis", ("after-sales",), "after_sales", ("P1", "P2"), "rising",
            0.30,
            ("{appliance}[底部|门封|后面]漏水，师傅上门[检查|检测|诊断]后说[没问题|正常|是水管松了]，[第二天|两天后|隔天]又漏水了",
             "师傅上门[误判|判断错了]{appliance}漏水原因，[换了|更换了][进水阀|排水管]还是漏水"),
            ("{appliance} [leaking|leaks] water [underneath|at the door|at the back], technician [inspected|checked] "
             "it and said [nothing was wrong|it was fine|the hose was loose], [next day|two days later] leaking again",
             "technician misdiagnosed the water leak on my {appliance}, replaced the [inlet valve|drain hose] "
             "but it still leaks water")),
    Problem("wrong_part", "diagnosis", "wrong_part", ("after-sales",), "after_sales", ("P3",), "flat", 0.15,
            ("[师傅|维修人员]带错了配件，{product}的[主板|电机|门封]配件型号不对，要[再等|重新预约]一次上门",
             "上门[维修|检修]发现配件型号不对，{product}的[主板|电机|门封]没修好"),
            ("technician brought the wrong spare part for my {product} [motherboard|motor|door seal], "
             "need another visit",
             "spare part model was wrong for the {product} [motherboard|motor|door seal], not repaired, "
             "wrong part again")),
    Problem("handoff_parcel", "follow_up", "handoff_gap", ("after-sales", "logistics"), "logistics", ("P2",), "rising",
            0.15,
            ("售后说[配件|新机]包裹已经[发出|寄出]，物流[查不到|没有]{order}的[运单|快递]信息，{days}天没人跟进",
             "[换货|退换]包裹在售后和物流之间[丢失|丢了]，查不到运单信息，{days}天没人跟进"),
            ("after-sales said the [replacement|part] parcel was shipped but logistics has no tracking for "
             "{order}, no follow-up for {days} days",
             "exchange parcel lost between after-sales and logistics, no tracking and no follow-up for {days} days")),
    Problem("double_charge", "resolution", "billing_error", ("billing",), "billing", ("P3",), "flat", 0.12,
            ("[会员费|服务费|延保费]被重复扣款，[申请退款|要求退款]后{days}天[还没到账|没有处理]",
             "账单[金额不对|多扣了钱]，[会员费|服务费|延保费]重复扣款，退款没有处理"),
            ("[membership|service|extended warranty] fee charged twice, refund not received after {days} days",
             "bill [amount wrong|overcharged], [membership|service|extended warranty] fee charged twice, "
             "refund not processed")),
    Problem("slow_response", "first_response", "slow_response", ("after-sales",), "complaint", ("P3",), "falling",
            0.14,
            ("[在线客服|热线|客服]{hours}小时没人回复，[排队|等待]太久",
             "提交[工单|投诉]后[客服|热线]{hours}小时没人回复，一直在排队等待"),
            ("[online chat|hotline|support] no reply for {hours} hours, waiting in queue too long",
             "submitted a [ticket|complaint] and [support|hotline] did not reply, waiting in queue for {hours} hours")),
    Problem("premature_closure", "closure", "premature_closure", ("logistics",), "logistics", ("P4",), "flat", 0.14,
            ("问题[还没解决|没有处理完]工单就被关闭了，[配送|送货]预约[没安排|没确认]",
             "[客服|工作人员]未经我确认就关闭工单，[配送|送货]预约还是错的"),
            ("case closed before the problem was solved, [delivery|shipping] appointment not [scheduled|confirmed]",
             "agent closed my case without my confirmation, [delivery|shipping] appointment still wrong")),
)

# Texts of tickets that did not fail (not clustered; they make the history realistic).
ROUTINE = {
    "zh": ("咨询{product}的[保修|使用|安装]问题", "{product}[预约安装|预约保养]，[周末|工作日]上门",
           "[修改|查询]订单{order}的[地址|发票]"),
    "en": ("question about {product} [warranty|usage|installation]", "book [installation|maintenance] for my {product}",
           "[change|check] [address|invoice] of order {order}"),
}

SUFFIX = {
    "zh": ("", "", "请尽快处理。", "非常失望！", "希望尽快解决。", "已经是第二次了。"),
    "en": ("", "", " Please fix asap.", " Very disappointed.", " Hope this gets solved soon.", " Second time now."),
}

FILLS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {"product": ("洗衣机", "冰箱", "空调", "热水器", "洗碗机"), "appliance": ("洗衣机", "洗碗机", "滚筒洗衣机")},
    "en": {"product": ("washer", "fridge", "air conditioner", "water heater", "dishwasher"),
           "appliance": ("washing machine", "dishwasher", "washer")},
}

TEAMS = ("after-sales", "billing", "logistics")
CATEGORY_OF_TEAM = {"after-sales": "after_sales", "billing": "billing", "logistics": "logistics"}
ROUTINE_CAUSES = ("usage_question", "product_defect", "configuration", "customer_request")
CHANNELS = ("app", "web", "phone", "branch")
