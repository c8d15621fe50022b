from django.urls import path

from . import views

app_name = "meetings"

urlpatterns = [
    path("branches/<int:pk>/meetings/", views.branch_meetings, name="branch"),
    path("branches/<int:pk>/meetings/new/", views.meeting_new, name="new"),
    path("meetings/reports/", views.reports, name="reports"),
    path("meetings/<int:pk>/", views.meeting_detail, name="detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("meetings/<int:pk>/attendance/", views.meeting_roll, name="roll"),
    path("meetings/<int:pk>/hold/", views.meeting_hold, name="hold"),
    path("meetings/<int:pk>/adopt/", views.meeting_adopt, name="adopt"),
    path("meetings/<int:pk>/tasks/", views.task_add, name="task_add"),
    path("meetings/<int:pk>/review/", views.task_review, name="review"),
    path("meetings/<int:pk>/addenda/", views.addendum_add, name="addendum_add"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="minutes"),
    path("meetings/<int:pk>/sheet/", views.meeting_sheet, name="sheet"),
]
