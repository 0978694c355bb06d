"""The demo plant's manual set: an operating manual with alarm response procedures in English and Chinese (PDF with
a real text layer, one section per page) and an equipment register CSV in which some motors are obsolete
high-energy models. `hmi-agent alarms demo-data` writes and indexes them; the demo definitions name their pages."""

from __future__ import annotations

import csv
from pathlib import Path

MANUAL_EN = "operating-manual-en.pdf"
MANUAL_ZH = "operating-manual-zh.pdf"
REGISTER = "equipment-register.csv"
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk (deploy/setup.sh)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora, Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
_SIMPLIFIED_CHINESE = 2  # face index of "Noto Sans CJK SC" in the collection

# (heading, paragraphs) per page, English and Chinese page for page; "{tags}" lists the tags a procedure covers
_PAGES: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (
        (
            "Demo Plant Operating Manual OM-100",
            "Alarm response procedures for operators of the demo plant: reactor, distillation, boiler, tank farm, "
            "compressor house and utilities. Revision 3.\n"
            "Contents: 1 Alarm handling basics. 2 Shelving and suppression. 3 Alarm floods. 4.1-4.9 Response procedures by "
            "alarm type. 5 Emergency shutdown. 6 Lockout/tagout. 7 Cooling water start-up. 8 Nameplates and obsolete models.",
        ),
        (
            "示范装置操作手册 OM-100",
            "示范装置操作人员报警处置规程：反应区、精馏区、锅炉房、罐区、压缩机房和公用工程。第3版。\n"
            "目录：1 报警处理基本要求。2 报警搁置与抑制。3 报警泛滥。4.1-4.9 各类报警处置程序。5 紧急停车。6 上锁挂牌。"
            "7 循环水系统开车。8 设备铭牌与淘汰型号。",
        ),
    ),
    (
        (
            "1 Alarm handling basics",
            "Every alarm has a priority from 1 (critical) to 4 (low). The operator must respond within the allowed response "
            "time: priority 1 within 5 minutes, priority 2 within 10 minutes, priority 3 within 15 minutes, priority 4 within "
            "30 minutes.\nAcknowledge an alarm only after reading it on the alarm summary. Acknowledging does not fix "
            "anything: follow the response procedure of section 4 for the alarm type.\nRecord every priority 1 alarm in the "
            "shift log with the time, the cause found and the action taken.",
        ),
        (
            "1 报警处理基本要求",
            "每个报警都有1（紧急）到4（低）的优先级。操作员必须在规定的响应时间内处理：1级5分钟内，2级10分钟内，3级15分钟内，"
            "4级30分钟内。\n只有在报警汇总画面上看清报警内容后才能确认。确认报警并不能消除故障，必须按照第4章对应报警类型的处置程序操作。"
            "\n每个1级报警都要记入交接班日志，写明时间、查明的原因和采取的措施。",
        ),
    ),
    (
        (
            "2 Alarm shelving and suppression",
            "A chattering or nuisance alarm may be shelved from the alarm summary for at most 8 hours, and only with the "
            "approval of the shift supervisor. Write the reason and the expected return time in the shift log.\n"
            "Suppression by design (for example a pump that is stopped for maintenance) is set up by the instrument "
            "engineer, never by the operator. Check shelved and suppressed alarms at every shift handover.",
        ),
        (
            "2 报警搁置与抑制",
            "频繁抖动的报警或误报警可以在报警汇总画面上搁置，最长8小时，且须经值班长批准。在交接班日志中写明原因和预计恢复时间。\n"
            "设计抑制（例如检修停运的泵）由仪表工程师设置，操作员不得自行设置。每次交接班都要检查被搁置和被抑制的报警。",
        ),
    ),
    (
        (
            "3 Alarm floods",
            "An alarm flood is more than 10 new alarms within 10 minutes for one operator. During a flood do not try to "
            "acknowledge every alarm: find the first-out alarm that started the cascade, handle priority 1 alarms first, and "
            "call the shift supervisor.\nA compressor trip in the compressor house typically raises vibration, pressure and "
            "flow alarms together; restart only after the cause of the trip is known.",
        ),
        (
            "3 报警泛滥",
            "报警泛滥是指一名操作员在10分钟内收到超过10个新报警。泛滥期间不要逐个确认报警：先找出引发连锁反应的首出报警，优先处理1级报警，"
            "并通知值班长。\n压缩机房压缩机跳车通常会同时引发振动、压力和流量报警；查明跳车原因后方可重新启动。",
        ),
    ),
    (
        (
            "4.1 High temperature alarms",
            "Applies to: {tags} (H and HH).\nLikely causes: loss of cooling water, fouled heat exchanger, temperature "
            "controller left in manual.\nResponse: 1. Check that the cooling water pump runs and its valve is open. "
            "2. Put the temperature controller back in AUTO. 3. If the temperature keeps rising, reduce the feed by 20 %. "
            "4. At HH the interlock cuts the feed: do not bypass the interlock; inform the shift supervisor.",
        ),
        (
            "4.1 温度高报警",
            "适用位号：{tags}（H和HH）。\n可能原因：冷却水中断、换热器结垢、温度控制器处于手动。\n处置：1. 确认冷却水泵运行且阀门打开。"
            "2. 将温度控制器切回自动。3. 温度继续上升时将进料降低20%。4. 高高报警时联锁切断进料：不得旁路联锁，报告值班长。",
        ),
    ),
    (
        (
            "4.2 High pressure alarms",
            "Applies to: {tags} (HH).\nLikely causes: blocked outlet, passing relief valve, upstream pressure surge.\n"
            "Response: 1. Open the outlet or the bypass valve. 2. Check the downstream valves for a closed or stuck valve. "
            "3. If the pressure approaches the relief valve set pressure, prepare a controlled shutdown. 4. After a relief "
            "valve lifts, have it inspected before restart.",
        ),
        (
            "4.2 压力高报警",
            "适用位号：{tags}（HH）。\n可能原因：出口堵塞、安全阀内漏、上游压力波动。\n处置：1. 打开出口阀或旁路阀。2. 检查下游阀门是否关闭或卡涩。"
            "3. 压力接近安全阀整定压力时，准备有序停车。4. 安全阀起跳后，须经检验方可重新开车。",
        ),
    ),
    (
        (
            "4.3 Low pressure alarms",
            "Applies to: {tags} (L).\nLikely causes: leak, loss of supply, controller output saturated.\nResponse: "
            "1. Check the supply header pressure. 2. Walk the line and look for leaks. 3. Start the standby supply "
            "(standby compressor or nitrogen backup). 4. If the pressure cannot be held, reduce the load of the users.",
        ),
        (
            "4.3 压力低报警",
            "适用位号：{tags}（L）。\n可能原因：泄漏、气源中断、控制器输出饱和。\n处置：1. 检查供气总管压力。2. 沿管线巡检查找泄漏点。"
            "3. 启动备用气源（备用压缩机或氮气备用）。4. 压力无法维持时，降低用户负荷。",
        ),
    ),
    (
        (
            "4.4 High level alarms",
            "Applies to: {tags} (H).\nLikely causes: outlet pump stopped, level control valve stuck closed.\nResponse: "
            "1. Check that the outlet pump runs. 2. Check the level control valve position against its output; stroke it in "
            "manual if stuck. 3. Reduce the inflow. 4. Never let a tank overfill: liquid carry-over damages the next unit.",
        ),
        (
            "4.4 液位高报警",
            "适用位号：{tags}（H）。\n可能原因：出口泵停运、液位调节阀卡在关位。\n处置：1. 确认出口泵运行。2. 对比液位调节阀的阀位和输出，"
            "卡涩时切手动活动阀门。3. 减少进料。4. 严禁储罐满溢：液体夹带会损坏下游设备。",
        ),
    ),
    (
        (
            "4.5 Low level alarms",
            "Applies to: {tags} (LL).\nLikely causes: inflow lost, drain valve left open.\nResponse: 1. Confirm the inflow. "
            "2. Close any open drain valve. 3. Stop the pump before it runs dry; at LL the pump trips on its interlock. "
            "4. Restart the pump only when the level is back above 30 %.",
        ),
        (
            "4.5 液位低报警",
            "适用位号：{tags}（LL）。\n可能原因：进料中断、排放阀未关。\n处置：1. 确认进料正常。2. 关闭未关的排放阀。"
            "3. 在泵干转之前停泵；低低报警时泵联锁停运。4. 液位恢复到30%以上后方可重新启泵。",
        ),
    ),
    (
        (
            "4.6 Low flow alarms",
            "Applies to: {tags} (L).\nLikely causes: pump trip, plugged suction filter, closed valve.\nResponse: 1. Check the "
            "running status of the pump. 2. Read the filter differential pressure; above 0.5 bar change over to the clean "
            "filter. 3. Switch to the standby pump. 4. Tell the downstream unit that its feed is reduced.",
        ),
        (
            "4.6 流量低报警",
            "适用位号：{tags}（L）。\n可能原因：泵跳车、入口过滤器堵塞、阀门关闭。\n处置：1. 检查泵的运行状态。2. 读取过滤器压差，"
            "超过0.5 bar时切换到清洁过滤器。3. 切换至备用泵。4. 通知下游装置进料减少。",
        ),
    ),
    (
        (
            "4.7 High vibration alarms",
            "Applies to: {tags} (H and HH).\nLikely causes: bearing wear, misalignment, compressor surge.\nResponse: "
            "1. Check the bearing temperature and the lube oil pressure. 2. Reduce the machine load. 3. Call the machinery "
            "engineer. 4. At HH (11 mm/s) the machine trips: do not restart before the machinery engineer has checked it.",
        ),
        (
            "4.7 振动高报警",
            "适用位号：{tags}（H和HH）。\n可能原因：轴承磨损、对中不良、压缩机喘振。\n处置：1. 检查轴承温度和润滑油压力。2. 降低设备负荷。"
            "3. 通知设备工程师。4. 振动高高（11 mm/s）时设备联锁停机：设备工程师检查前不得重新启动。",
        ),
    ),
    (
        (
            "4.8 Combustible gas alarms",
            "Applies to: {tags} (H at 20 %LEL, HH at 40 %LEL).\nLikely causes: flange or seal leak near the detector.\n"
            "Response: 1. Evacuate the area and keep people upwind. 2. Isolate the leak source from the control room if "
            "possible. 3. Verify the reading with a portable gas detector before anyone re-enters. 4. No hot work until the "
            "area is declared gas-free.",
        ),
        (
            "4.8 可燃气体报警",
            "适用位号：{tags}（H为20%LEL，HH为40%LEL）。\n可能原因：探头附近法兰或密封泄漏。\n处置：1. 撤离现场人员，人员站在上风向。"
            "2. 尽可能在控制室隔离泄漏源。3. 人员重新进入前用便携式气体检测仪复核。4. 未确认无可燃气体前禁止动火作业。",
        ),
    ),
    (
        (
            "4.9 Pump trip alarms",
            "Applies to: {tags} (TRIP).\nLikely causes: motor overload, low suction pressure, emergency stop pressed.\n"
            "Response: 1. Start the standby pump. 2. Check the motor protection relay for the trip reason. 3. Check the "
            "suction strainer and the suction pressure. 4. Reset the relay only after the cause is cleared.",
        ),
        (
            "4.9 泵跳车报警",
            "适用位号：{tags}（TRIP）。\n可能原因：电机过载、入口压力低、急停按钮被按下。\n处置：1. 启动备用泵。"
            "2. 查看电机保护继电器的跳车原因。3. 检查入口过滤器和入口压力。4. 原因排除后方可复位继电器。",
        ),
    ),
    (
        (
            "5 Emergency shutdown",
            "Press the emergency shutdown (ESD) push button on the console when a fire, a large gas release or a loss of "
            "containment cannot be controlled. The ESD closes the feed valves, stops the pumps and compressors and opens "
            "the depressurising valves to the flare.\nAfter an ESD, do not reset anything until the shift supervisor has "
            "walked the unit; restart follows the start-up procedure.",
        ),
        (
            "5 紧急停车",
            "发生无法控制的火灾、大量气体泄漏或物料泄漏时，按下操作台上的紧急停车（ESD）按钮。ESD会关闭进料阀，停运泵和压缩机，"
            "并打开泄压阀排往火炬。\n紧急停车后，值班长巡检装置之前不得复位任何设备；重新开车须按开车程序进行。",
        ),
    ),
    (
        (
            "6 Lockout and tagout before maintenance",
            "Before maintenance on a pump, motor or valve: stop the equipment, open and lock the motor breaker, close and "
            "chain the isolation valves, drain and vent the equipment, and hang a tag with your name and the date.\n"
            "Try to start the equipment locally to prove the isolation. Only the person who hung the lock removes it.",
        ),
        (
            "6 检修前上锁挂牌",
            "泵、电机或阀门检修前：停运设备，断开并锁住电机断路器，关闭并用链条锁住隔离阀，排空并泄压，挂上写有本人姓名和日期的标牌。\n"
            "在现场试启动设备以验证隔离有效。只有上锁的人本人才能解锁。",
        ),
    ),
    (
        (
            "7 Cooling water system start-up",
            "Start-up of the cooling water system U-601: fill the basin to 70 %, open the pump suction valves, start one "
            "cooling water pump against a throttled discharge valve, then open the discharge valve slowly. Start the cooling "
            "tower fans when the return temperature exceeds 30 °C. Dose the biocide once the circulation is stable.",
        ),
        (
            "7 循环水系统开车",
            "循环水系统U-601开车：水池补水至70%，打开泵入口阀，在出口阀微开状态下启动一台循环水泵，然后缓慢打开出口阀。"
            "回水温度超过30 °C时启动凉水塔风机。循环稳定后投加杀菌剂。",
        ),
    ),
    (
        (
            "8 Equipment nameplates and obsolete models",
            "Motors and pumps on the national list of obsolete high-energy models must be replaced. To check a machine, "
            "read the model number on its nameplate and look it up in the equipment register (equipment-register.csv): the "
            "column Status says 'obsolete' for the models on the list, with the planned replacement.\nReport an obsolete "
            "model that is not yet scheduled to the maintenance planner.",
        ),
        (
            "8 设备铭牌与淘汰型号",
            "列入国家淘汰的高耗能机电设备目录的电机和泵必须更换。核查设备时，读取铭牌上的型号，在设备台账（equipment-register.csv）中查找："
            "列入目录的型号在状态一栏标为“obsolete”（淘汰），并注明计划更换型号。\n发现尚未安排更换的淘汰型号，应报告检修计划员。",
        ),
    ),
]

# page (1-based) of each procedure, by the (quantity, direction) of the demo plant's alarm kinds
PROCEDURE_PAGES = {
    ("temperature", "high"): 5, ("pressure", "high"): 6, ("pressure", "low"): 7, ("level", "high"): 8,
    ("level", "low"): 9, ("flow", "low"): 10, ("vibration", "high"): 11, ("combustible gas", "high"): 12,
    ("pump", "trip"): 13,
}  # fmt: skip

REGISTER_COLUMNS = ("Tag", "Equipment", "Manufacturer", "Model", "Serial", "Power kW", "Year", "Status", "备注")
REGISTER_ROWS = [
    ("P-107", "Reactor feed pump motor", "Wannan Motor", "Y2-280M-4", "WN-2011-04417", "90", "2011", "in service", "在用"),
    ("P-207", "Column reflux pump motor", "Dalian Motor", "Y160M-4", "DL-1998-22031", "11", "1998",
     "obsolete: high-energy model, replace by YE3-160M-4 in 2026", "淘汰高耗能型号，计划更换为YE3-160M-4"),
    ("P-307", "Boiler feed water pump motor", "Siemens", "1LE0001-2AB4", "SN-2019-88120", "45", "2019", "in service", "在用"),
    ("P-407", "Tank farm transfer pump motor", "Shanghai Motor", "JO2-42-4", "SH-1985-00312", "5.5", "1985",
     "obsolete: high-energy model, replace by YE4-132S-4 in 2025", "淘汰高耗能型号，计划更换为YE4-132S-4"),
    ("P-507", "Compressor lube oil pump motor", "ABB", "M3BP-160MLA-4", "ABB-2016-5521", "11", "2016", "in service", "在用"),
    ("P-607", "Cooling water pump motor", "Wannan Motor", "Y-250M-4", "WN-2001-10077", "55", "2001",
     "obsolete: high-energy model, replace by YE3-250M-4 in 2026", "淘汰高耗能型号，计划更换为YE3-250M-4"),
    ("K-501", "Process gas compressor motor", "ABB", "AMA-500L4", "ABB-2014-0093", "1250", "2014", "in service", "在用"),
    ("K-502", "Instrument air compressor motor", "Atlas Copco", "GA-37-VSD", "AC-2018-33410", "37", "2018", "in service", "在用"),
    ("U-601", "Cooling tower fan motor", "Jiamusi Motor", "YB-200L-4", "JMS-2003-4410", "30", "2003",
     "obsolete: high-energy model, replace by YBX3-200L-4 in 2025", "淘汰高耗能型号，计划更换为YBX3-200L-4"),
    ("B-301", "Boiler forced draft fan motor", "WEG", "W22-315S-4", "WEG-2020-71882", "110", "2020", "in service", "在用"),
    ("T-401", "Tank mixer motor", "SEW", "DRN132M4", "SEW-2021-11873", "7.5", "2021", "in service", "在用"),
    ("C-201", "Column bottoms pump motor", "Dalian Motor", "Y2-200L-4", "DL-2009-88005", "30", "2009", "in service", "在用"),
]  # fmt: skip


def page_count() -> int:
    return len(_PAGES)


def tags_by_page(definitions: list[dict]) -> dict[int, list[str]]:
    """The tags each procedure page covers, from definition rows that name their procedure page."""
    pages: dict[int, list[str]] = {}
    for row in definitions:
        if row.get("procedure_page") and row["tag"] not in pages.setdefault(row["procedure_page"], []):
            pages[row["procedure_page"]].append(row["tag"])
    return pages


def page_texts(language: str, definitions: list[dict]) -> list[tuple[str, str]]:
    """(heading, body) of each page of the manual in `language` ("en" or "zh"), procedure tags filled in."""
    by_page = tags_by_page(definitions)
    pages = []
    for number, (english, chinese) in enumerate(_PAGES, start=1):
        heading, body = english if language == "en" else chinese
        pages.append((heading, body.replace("{tags}", ", ".join(by_page.get(number, [])) or "-")))
    return pages


def cjk_font() -> Path:
    """A font with Chinese glyphs to embed in the Chinese manual. Raises FileNotFoundError saying what to install."""
    for candidate in CJK_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("the Chinese demo manual needs the Noto CJK fonts: apt-get install fonts-noto-cjk")


def write_manual(path: Path, language: str, definitions: list[dict]) -> None:
    """The operating manual as a PDF with a text layer: one section per page, a footer with the page number."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    font = "helvetica"  # a core font: nothing to embed, and subsetting the CJK font takes seconds
    if language == "zh":
        font = "noto"
        pdf.add_font(font, fname=str(cjk_font()), collection_font_number=_SIMPLIFIED_CHINESE)
    for number, (heading, body) in enumerate(page_texts(language, definitions), start=1):
        pdf.add_page()
        pdf.set_font(font, size=16)
        pdf.multi_cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font(font, size=11)
        for paragraph in body.split("\n"):
            pdf.multi_cell(0, 7, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_y(-20)
        pdf.set_font(font, size=9)
        footer = f"OM-100 rev. 3 - page {number}" if language == "en" else f"OM-100 第3版 - 第 {number} 页"
        pdf.cell(0, 8, footer, align="C")
    pdf.output(str(path))


def write_register(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(REGISTER_COLUMNS)
        writer.writerows(REGISTER_ROWS)


def write_demo_manuals(folder: Path, definitions: list[dict]) -> list[Path]:
    """Writes the English and Chinese manuals and the equipment register into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    write_manual(folder / MANUAL_EN, "en", definitions)
    write_manual(folder / MANUAL_ZH, "zh", definitions)
    write_register(folder / REGISTER)
    return [folder / MANUAL_EN, folder / MANUAL_ZH, folder / REGISTER]
