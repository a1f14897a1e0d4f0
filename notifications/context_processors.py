from notifications.models import Notification


def inbox(request):
    """The unread count beside the Inbox link (one indexed count per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.agency_id:
        return {}
    return {"inbox_unread": Notification.objects.inbox_of(user).unread().count()}
