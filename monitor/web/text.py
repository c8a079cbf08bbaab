"""The web view's words: the pages are written in Chinese, and this is their English.

Templates call ``_("中文")``; in English the phrase is looked up here (a phrase missing here stays
Chinese, and a test keeps the table complete for every phrase the templates use).
"""
from __future__ import annotations

STATE_NAMES = {
    "zh": {"pending": "待答复", "overdue": "逾期未答复", "answered_in_time": "按时答复", "answered_late": "逾期答复",
           "void": "已撤销", "none": "无需答复"},
    "en": {"pending": "pending", "overdue": "overdue", "answered_in_time": "answered in time",
           "answered_late": "answered late", "void": "void", "none": "no case"},
}

ACTION_NAMES = {"zh": {"assign": "指派", "exclude": "排除", "include": "恢复计入"},
                "en": {"assign": "assign", "exclude": "exclude", "include": "include"}}

EN = {
    "网络发言人监测": "Spokesperson monitor",
    "总览": "Overview", "单位": "Units", "搜索": "Search", "通报": "Bulletin", "退出": "Log out", "登录": "Log in",
    "用户名": "Name", "密码": "Password", "请登录": "Please log in",
    "用户名或密码错误。": "Wrong name or password.",
    "登录失败次数过多，请稍后再试。": "Too many failed logins; try again later.",
    "表单已过期，请重新登录。": "The form expired; log in again.",
    "表单已过期，请刷新页面后重试。": "The form expired; reload the page and try again.",
    "此页面仅限办公室用户查看。": "Only office users may open this page.",
    "您只能查看本单位的信息。": "You can only see your own unit.",
    "您只能查看本单位的帖子。": "You can only see your own unit's threads.",
    "没有这个单位。": "No such unit.", "没有找到这个帖子。": "No such thread is stored.",
    "没有这种格式。": "No such format.", "页面不存在。": "No such page.",
    "未知的操作。": "Unknown action.", "请填写理由。": "Give a reason.",
    "已记录更正：": "Correction recorded: ",
    "数据库暂时无法访问，请稍后再试。": "The database does not answer; try again shortly.",
    "出错了": "Something went wrong", "返回总览": "Back to the overview",
    # overview
    "即将到期": "Due soon", "到期时间截至": "due by", "新近逾期": "Newly overdue", "最近24小时": "in the last 24 hours",
    "各单位逾期未答复": "Overdue by unit", "逾期总数": "overdue in all", "最早逾期": "Oldest",
    "本期按时答复率": "In-time rate this period", "论坛采集": "Forum polling", "最近一次采集": "Last poll",
    "采集失败": "failing", "正常": "ok", "超时未采集": "not polled lately", "从未采集": "never polled",
    "无。": "None.", "帖子": "Thread", "标题": "Title", "责任单位": "Unit", "发帖时间": "Posted",
    "答复期限": "Due", "剩余时间": "Time left", "逾期时间": "Overdue since", "状态": "State",
    "受理": "Received", "按时答复": "In time", "逾期答复": "Late", "未答复": "Unanswered",
    "期限内待答复": "Within deadline", "按时答复率": "In-time rate", "主动发布": "Proactive",
    "合计": "Total", "数量": "Count", "论坛": "Forum", "错误": "Error", "完整通报": "Full bulletin",
    "（未明确责任单位）": "(no unit assigned)", "热点": "hot", "估算": "estimated",
    # unit
    "待办帖子": "Open threads", "其中逾期": "of them overdue", "逾期答复的帖子": "Answered late",
    "最近": "latest", "共": "of", "发言人账号": "Spokesperson accounts", "账号": "Account",
    "发帖数": "Posts", "最近发帖": "Last post", "最近访问": "Last visit", "按月统计": "By month",
    "月份": "Month", "按帖子的当前状态统计。": "Counted by each case's state as it stands now.",
    "答复时间": "Answered", "帖子数": "Threads",
    # thread
    "帖子详情": "Thread", "在论坛查看原帖": "Open on the forum", "楼层": "Floor", "作者": "Author",
    "时间": "Time", "内容": "Text", "已编辑": "edited", "已删除": "deleted", "早期版本": "earlier versions",
    "答复情况": "Case", "当前状态": "State", "状态变化": "State changes", "答复质量": "Reply quality",
    "网民追问": "Follow-up", "人工更正": "Office corrections", "更正": "Correct", "操作": "Action",
    "指派给单位": "Assign to unit", "排除（不计入）": "Exclude (does not count)", "恢复计入": "Include (counts)",
    "理由": "Reason", "提交": "Submit", "记录人": "By", "无答复义务": "No case: the thread does not count",
    "发帖人": "Starter", "浏览": "Views", "回复": "Replies", "板块": "Board", "分类": "Category",
    "首次采集": "First seen", "最后采集": "Last seen", "自": "since", "追问期限": "due",
    "再次答复": "answered again", "被指派": "assigned", "指派方式": "assigned by", "主动发布单位": "proactive item of",
    # search
    "关键词": "Words", "全部单位": "All units", "全部板块": "All boards", "全部状态": "All states",
    "期间": "Period", "例如": "e.g.", "查询": "Search", "找到的帖子": "Threads found",
    "没有找到符合条件的帖子。": "No thread matches.", "下一页": "Next page", "上一页": "Previous page",
    "输入至少两个字的关键词，多个关键词用空格分开。": "Type words of at least two characters, separated by spaces.",
    # bulletin
    "期间（如 2011Q1、2011-03、2011）": "Period (e.g. 2011Q1, 2011-03, 2011)", "生成": "Show",
    "下载": "Download", "数据已更新，新的通报正在生成，请稍后刷新。": "The data changed: a new bulletin is being written; reload shortly.", "统计截至": "As of", "语言": "Language",
}


def translate(text: str, lang: str) -> str:
    """``text`` (Chinese) in ``lang``."""
    return EN.get(text, text) if lang == "en" else text
