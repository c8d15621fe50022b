# Transfers and dissolutions (issue 3).
urlpatterns: list = []
