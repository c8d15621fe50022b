"""The words of the synthetic district: names, ethnicities, places, positions, what
branches meet about and why members are absent, in the proportions of Pác Nặm."""

FAMILY = ["Hoàng", "Nông", "Triệu", "Lý", "Đinh", "Hà", "Bàn", "Lương", "Ma", "Nguyễn",
          "Lục", "Dương", "Đàm", "Hứa", "Lộc", "Vi", "Hầu", "Giàng"]
MIDDLE = {"male": ["Văn", "Đức", "Quang", "Minh", "Hữu", "Xuân"],
          "female": ["Thị", "Thu", "Ngọc", "Thanh", "Kim"]}
GIVEN = {
    "male": ["Mạnh", "Páo", "Chuyển", "Sơn", "Hùng", "Dũng", "Tuấn", "Thắng", "Hải", "Long",
             "Cường", "Bình", "Quân", "Nam", "Toàn", "Kiên", "Tiến", "Vinh", "Phúc", "Lâm",
             "Chung", "Định", "Khánh", "Sinh", "Tài", "Quyết", "Thịnh", "Đông"],
    "female": ["Huyền", "Lan", "Hoa", "Mai", "Hương", "Thảo", "Hằng", "Nga", "Dung", "Liên",
               "Nhung", "Vân", "Xuân", "Yến", "Thúy", "Hạnh", "Loan", "Phượng", "Chang",
               "Duyên", "Hiền", "Ngân", "Quyên", "Trang"],
}
ETHNICITY = [("Tày", 50), ("Dao", 24), ("Mông", 12), ("Kinh", 8), ("Nùng", 6)]
PLACE = ["Bằng", "Thành", "Nhạn", "Môn", "Bộc", "Bố", "Công", "Giáo", "Hiệu", "Xuân", "La",
         "An", "Thắng", "Cổ", "Linh", "Nghiên", "Loan", "Cao", "Tân", "Khâu", "Slôm", "Cốc",
         "Lải", "Nà", "Pác", "Nặm", "Phiêng", "Lủng", "Khuổi", "Bản", "Pù", "Mò", "Cọn", "Ỏm"]
POSITIONS = ["Phó Bí thư Đảng ủy xã", "Chủ tịch UBND xã", "Công chức Tư pháp - Hộ tịch",
             "Công chức Văn phòng - Thống kê", "Công chức Địa chính", "Chủ tịch Hội Nông dân xã",
             "Bí thư Đoàn xã", "Công chức Văn hóa - Xã hội", "Chỉ huy trưởng Quân sự xã"]
MEETING_AGENDA = (
    "1. Khai mạc, điểm danh; thông qua chương trình; cử thư ký.\n2. Tình hình thời sự.\n"
    "3. Kiểm điểm nhiệm vụ tháng trước.\n4. Nhiệm vụ tháng tới, phân công.\n"
    "5. Thông qua nghị quyết.\n6. Thông qua biên bản."
)
TASKS = ["Vận động vệ sinh môi trường thôn", "Tu sửa đường liên thôn", "Thu đảng phí",
         "Bồi dưỡng quần chúng ưu tú", "Tuyên truyền nông thôn mới"]
ABSENCE_REASONS = ["Ốm", "Đi làm xa", "Việc gia đình"]
