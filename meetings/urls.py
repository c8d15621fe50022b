from django.urls import path

from .views import attendance, dues, meetings, offline, reports, tasks

app_name = "meetings"

urlpatterns = [
    path("branches/<int:pk>/meetings/", meetings.branch_meetings, name="branch"),
    path("branches/<int:pk>/meetings/new/", meetings.meeting_new, name="new"),
    path("meetings/reports/", reports.reports, name="reports"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="detail"),
    path("meetings/<int:pk>/edit/", meetings.meeting_edit, name="edit"),
    path("meetings/<int:pk>/attendance/", attendance.meeting_roll, name="roll"),
    path("meetings/<int:pk>/attendance/offline/", offline.offline_roll_entry, name="roll_entry"),
    path("meetings/<int:pk>/tasks/offline/", offline.offline_task_entry, name="task_entry"),
    path("meetings/<int:pk>/record/offline/", offline.offline_record_entry, name="record_entry"),
    path("sw.js", offline.service_worker, name="service_worker"),
    path("offline/", offline.offline_page, name="offline"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("meetings/<int:pk>/hold/", meetings.meeting_hold, name="hold"),
    path("meetings/<int:pk>/adopt/", meetings.meeting_adopt, name="adopt"),
    path("meetings/<int:pk>/tasks/", tasks.task_add, name="task_add"),
    path("meetings/<int:pk>/review/", tasks.task_review, name="review"),
    path("meetings/<int:pk>/addenda/", meetings.addendum_add, name="addendum_add"),
    path("meetings/<int:pk>/minutes/", meetings.meeting_minutes, name="minutes"),
    path("meetings/<int:pk>/sheet/", meetings.meeting_sheet, name="sheet"),
    path("meetings/<int:pk>/dues/", dues.meeting_dues, name="dues"),
    path("branches/<int:pk>/dues/<int:year>/", dues.dues_book, name="dues_book"),
    path("branches/<int:pk>/dues/<int:year>.xlsx", dues.dues_book_xlsx, name="dues_book_xlsx"),
    path("members/<int:pk>/dues/<int:year>/", dues.member_dues, name="member_dues"),
    path("dues/behind/", dues.dues_behind, name="dues_behind"),
    path("dues/review/", dues.dues_review, name="dues_review"),
    path("dues/totals/", dues.dues_totals, name="dues_totals"),
]
