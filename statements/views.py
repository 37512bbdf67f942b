from django.views.generic import View as HomeView, View as ReleaseListView, View as PositionListView, View as ReleaseDetailView, View as TopicListView, View as TopicDetailView, View as SourceDetailView
def healthz(r): pass
