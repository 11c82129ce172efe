"""The console's words in Vietnamese (the default) and English (the source language).

Templates and handlers write English and call ``_`` (``say`` in Python); Vietnamese comes from
:data:`VI`. tests/test_web_pages.py checks that every message written in a template or handler
has its Vietnamese translation.
"""

from __future__ import annotations

from collections.abc import Callable

STATUS_LABELS = {
    "done": "done on time",
    "done_late": "done late",
    "open": "in progress",
    "overdue": "overdue",
}
"""The report's statuses as the pages name them."""

VI: dict[str, str] = {
    "Account": "Tài khoản",
    "Action": "Thao tác",
    "Actions": "Thao tác",
    "Administrators' log": "Nhật ký quản trị",
    "After event": "Sau sự kiện",
    "An export verifies offline: workflow audit verify --file FILE.": (
        "Tệp xuất có thể kiểm tra không cần cơ sở dữ liệu: workflow audit verify --file TỆP."
    ),
    "As it stood at": "Tình trạng lúc",
    "As of": "Tính đến",
    "Audit": "Kiểm toán",
    "Auditors read every page and fire nothing.": (
        "Kiểm toán viên xem được mọi trang và không thực hiện thao tác nào."
    ),
    "Back to the start": "Về trang đầu",
    "By": "Người thực hiện",
    "Chain": "Chuỗi xử lý",
    "Channel": "Kênh",
    "Changes from v{old} to v{new}": "Thay đổi từ v{old} đến v{new}",
    "Checkpoint": "Điểm kiểm tra",
    "Compare": "So sánh",
    "Compare with version": "So sánh với phiên bản",
    "Content hash": "Mã băm nội dung",
    "Data": "Dữ liệu",
    "Data given": "Dữ liệu nhập",
    "Deadline": "Thời hạn",
    "Definitions": "Định nghĩa quy trình",
    "Deployed": "Triển khai lúc",
    "Deploying a definition stays a command-line action (workflow definitions deploy).": (
        "Việc triển khai định nghĩa vẫn thực hiện bằng dòng lệnh (workflow definitions deploy)."
    ),
    "Details": "Chi tiết",
    "Diagram": "Sơ đồ",
    "Directive workflow": "Theo dõi văn bản chỉ đạo",
    "Directives": "Văn bản chỉ đạo",
    "Done: {action}.": "Đã thực hiện: {action}.",
    "Downloads": "Tải xuống",
    "Export": "Xuất",
    "Filter": "Lọc",
    "Filters": "Bộ lọc",
    "From → to": "Từ → đến",
    "Inbox": "Việc cần làm",
    "Instance": "Hồ sơ",
    "Item": "Nội dung",
    "Items per status": "Số nội dung theo tình trạng",
    "Late by": "Trễ",
    "Latest transitions (30 days)": "Các bước xử lý gần đây (30 ngày)",
    "Live instances": "Hồ sơ đang xử lý",
    "Log in": "Đăng nhập",
    "Log out": "Đăng xuất",
    "Main menu": "Danh mục chính",
    "No difference.": "Không có khác biệt.",
    "No transition in the last 30 days.": "Không có bước xử lý nào trong 30 ngày qua.",
    "No directive has been imported.": "Chưa có văn bản chỉ đạo nào được nhập.",
    "Not allowed": "Không được phép",
    "Not found": "Không tìm thấy",
    "Nothing to do: no item waits for you.": "Không có việc nào đang chờ đồng chí xử lý.",
    "Only the directive's overseers export its report.": (
        "Chỉ đơn vị chủ trì, phối hợp theo dõi văn bản mới được xuất báo cáo."
    ),
    "Only the first items of each step are listed.": (
        "Chỉ liệt kê những hồ sơ đầu tiên của mỗi bước."
    ),
    "Only your unit's items are shown.": "Chỉ hiển thị nội dung của đơn vị đồng chí.",
    "Password": "Mật khẩu",
    "Progress over time": "Tiến độ theo thời gian",
    "Reason": "Lý do",
    "Refresh": "Tải lại",
    "Refused": "Bị từ chối",
    "Role": "Vai trò",
    "Show": "Xem",
    "Showing the first rows; narrow with the filters.": (
        "Chỉ hiển thị những dòng đầu; hãy dùng bộ lọc để thu hẹp."
    ),
    "Skip to the content": "Chuyển đến nội dung",
    "Source": "Mã nguồn",
    "Stage": "Giai đoạn",
    "State": "Trạng thái",
    "State at a past moment": "Trạng thái tại một thời điểm trước",
    "Status": "Tình trạng",
    "Step": "Bước",
    "Subject": "Đối tượng",
    "The current state is framed in red; the transitions taken are drawn in red.": (
        "Trạng thái hiện tại được viền đỏ; các bước đã đi qua được tô đỏ."
    ),
    "The form came from another site.": "Biểu mẫu được gửi từ một trang web khác.",
    "The form has expired or lacks its security token: reload the page.": (
        "Biểu mẫu đã hết hạn hoặc thiếu mã bảo mật: hãy tải lại trang."
    ),
    "The items you may act on now, due soonest first; overdue ones in red.": (
        "Các hồ sơ đồng chí có thể xử lý ngay, hạn gần nhất trước; hồ sơ quá hạn tô đỏ."
    ),
    "The log has been tampered with: {count} broken chains.": (
        "Nhật ký đã bị can thiệp: {count} chuỗi bị phá vỡ."
    ),
    "The log is intact: {chains} chains and {events} events verified, the administrators' "
    "log's {admin} events too.": (
        "Nhật ký toàn vẹn: đã kiểm tra {chains} chuỗi, {events} sự kiện và {admin} sự kiện "
        "của nhật ký quản trị."
    ),
    "The verification could not run:": "Không thể kiểm tra:",
    "There is no such page, or it is not yours to see.": (
        "Không có trang này, hoặc đồng chí không có quyền xem."
    ),
    "There is nothing you may do on this item now.": (
        "Hiện đồng chí không có thao tác nào trên hồ sơ này."
    ),
    "This page is for auditors and administrators.": (
        "Trang này dành cho kiểm toán viên và quản trị viên."
    ),
    "Timeline": "Diễn biến",
    "Too many failed attempts: try again in {seconds} seconds.": (
        "Đăng nhập sai quá nhiều lần: hãy thử lại sau {seconds} giây."
    ),
    "Unit": "Đơn vị",
    "Unit (code or part of its name)": "Đơn vị (mã hoặc một phần tên)",
    "Units and items": "Đơn vị và nội dung",
    "Verify now": "Kiểm tra ngay",
    "Verify the log": "Kiểm tra tính toàn vẹn của nhật ký",
    "Verifying…": "Đang kiểm tra…",
    "Version": "Phiên bản",
    "Versions": "Các phiên bản",
    "Walks every hash chain and replays it against its definition; the administrators' log too.": (
        "Kiểm tra từng chuỗi băm và đối chiếu với định nghĩa quy trình; cả nhật ký quản trị."
    ),
    "When": "Thời gian",
    "Who": "Người thực hiện",
    "Workflow": "Quy trình",
    "Wrong account or password.": "Sai tài khoản hoặc mật khẩu.",
    "You may": "Đồng chí có thể",
    "You may not do this on this item now.": "Đồng chí không được thực hiện thao tác này lúc này.",
    "a number is expected": "cần nhập một số",
    "a whole number is expected": "cần nhập một số nguyên",
    "a date is expected (YYYY-MM-DD)": "cần nhập ngày (NNNN-TT-NN)",
    "a date and time is expected": "cần nhập ngày giờ",
    "a JSON object is expected": "cần nhập một đối tượng JSON",
    "choose yes or no": "hãy chọn có hoặc không",
    "invalid value": "giá trị không hợp lệ",
    "all": "tất cả",
    "d": "ngày",
    "disabled": "đã tắt",
    "done late": "hoàn thành trễ hạn",
    "done on time": "hoàn thành đúng hạn",
    "fields": "trường",
    "h": "giờ",
    "in progress": "đang thực hiện",
    "instance": "hồ sơ",
    "internal error": "lỗi nội bộ",
    "item": "nội dung",
    "no": "không",
    "not started yet": "chưa bắt đầu",
    "one item per line": "mỗi dòng một mục",
    "or at the moment": "hoặc tại thời điểm",
    "overdue": "quá hạn",
    "required": "bắt buộc",
    "retired": "ngừng dùng",
    "signed": "có chữ ký",
    "unsigned: no audit key on this server": "không có chữ ký: máy chủ chưa có khóa kiểm toán",
    "yes": "có",
    "your unit's items": "nội dung của đơn vị đồng chí",
}


def translator(lang: str) -> Callable[[str], str]:
    """``say(message)``: the message in ``lang`` (English as written, Vietnamese from VI)."""
    if lang == "en":
        return _as_written
    return _vietnamese


def _as_written(message: str) -> str:
    return message


def _vietnamese(message: str) -> str:
    return VI.get(message, message)
