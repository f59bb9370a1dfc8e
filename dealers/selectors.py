"""Reads about dealers, always scoped to what the user may see."""

from django.db.models import Count, Q
from django.http import Http404

from dealers.models import Dealer, DealerChangeRequest, DealerContact, Region
from ssa_ops.roles import Role
from ssa_ops.sorting import Sorting

DEALER_SORTING = Sorting(
    {
        "code": ("code",),
        "name": ("name_zh",),
        "region": ("region__code",),
        "group": ("group__name",),
        "status": ("status",),
        "legal_entity": ("legal_entity",),
        "updated": ("updated_at",),
    },
    default="code",
)
CONTACT_SORTING = Sorting(
    {
        "dealer": ("dealer__code", "-is_primary", "role"),
        "role": ("role",),
        "name": ("name",),
        "phone": ("phone",),
        "email": ("email",),
    },
    default="dealer",
)
_CHANGE_REQUEST_SORT_OPTIONS = {
    "number": ("id",),
    "dealer": ("dealer__code",),
    "status": ("status",),
    "filed_by": ("created_by__username",),
    "created": ("created_at",),
    "submitted": ("submitted_at",),
}
CHANGE_REQUEST_SORTING = Sorting(_CHANGE_REQUEST_SORT_OPTIONS, default="-created")
# The queue serves the longest-waiting first.
CHANGE_QUEUE_SORTING = Sorting(_CHANGE_REQUEST_SORT_OPTIONS, default="submitted")


def dealer_list(*, user):
    """The dealers a user may see: its own dealer, its regions' dealers, or all."""
    dealers = Dealer.objects.select_related("region", "group")
    if not user.is_authenticated or not user.has_perm("dealers.view_dealer"):
        return dealers.none()
    if user.role == Role.DEALER:
        return dealers.filter(pk=user.dealer_id) if user.dealer_id else dealers.none()
    if user.role == Role.REGION_MANAGER:
        return dealers.filter(region__in=user.regions.all())
    if user.has_perm("dealers.view_all_dealers"):
        return dealers
    return dealers.none()


def dealer_search(*, user, query="", region=None, status="", group=None):
    dealers = dealer_list(user=user)
    if query:
        dealers = dealers.filter(
            Q(code__icontains=query)
            | Q(name_zh__icontains=query)
            | Q(name_en__icontains=query)
            | Q(legal_entity__icontains=query)
            | Q(credit_code__iexact=query)
        )
    if region:
        dealers = dealers.filter(region=region)
    if status:
        dealers = dealers.filter(status=status)
    if group:
        dealers = dealers.filter(group=group)
    return dealers


def dealer_get(*, user, pk) -> Dealer:
    dealer = dealer_list(user=user).filter(pk=pk).first()
    if dealer is None:
        raise Http404
    return dealer


def contact_list(*, user, query=""):
    contacts = DealerContact.objects.filter(dealer__in=dealer_list(user=user)).select_related(
        "dealer", "dealer__region"
    )
    if query:
        contacts = contacts.filter(
            Q(name__icontains=query)
            | Q(phone__icontains=query)
            | Q(email__icontains=query)
            | Q(dealer__code__icontains=query)
            | Q(dealer__name_zh__icontains=query)
            | Q(dealer__name_en__icontains=query)
        )
    return contacts


def change_request_list(*, user, status=""):
    if not user.has_perm("dealers.view_dealerchangerequest"):
        return DealerChangeRequest.objects.none()
    requests = DealerChangeRequest.objects.filter(dealer__in=dealer_list(user=user)).select_related(
        "dealer", "created_by", "decided_by"
    )
    if status:
        requests = requests.filter(status=status)
    return requests


def change_request_get(*, user, pk) -> DealerChangeRequest:
    change_request = change_request_list(user=user).filter(pk=pk).first()
    if change_request is None:
        raise Http404
    return change_request


def change_request_queue(*, user):
    """What ops must act on: submitted requests and approved ones not yet applied, oldest first."""
    return (
        change_request_list(user=user)
        .filter(status__in=DealerChangeRequest.OPEN_STATES)
        .order_by("submitted_at", "pk")
    )


def change_request_search(
    *, user, queue=False, query="", status="", region=None, apply_failed=False
):
    """The change-request list or queue with its filters; `query` matches the number
    (CR-00012 or 12), the dealer's code or names."""
    requests = change_request_queue(user=user) if queue else change_request_list(user=user)
    query = (query or "").strip()
    if query:
        condition = (
            Q(dealer__code__icontains=query)
            | Q(dealer__name_zh__icontains=query)
            | Q(dealer__name_en__icontains=query)
        )
        number = query.upper().removeprefix("CR-").lstrip("0")
        if number.isdigit() and len(number) < 10:
            condition |= Q(pk=int(number))
        requests = requests.filter(condition)
    if status:
        requests = requests.filter(status=status)
    if region:
        requests = requests.filter(dealer__region=region)
    if apply_failed:
        requests = requests.filter(status=DealerChangeRequest.Status.APPROVED).exclude(
            apply_error=[]
        )
    return requests


def dealer_counts_by_region(*, user):
    """Per region: dealers in each status, for the dashboard chart."""
    rows = (
        dealer_list(user=user)
        .values("region__code", "region__name_zh", "region__name_en")
        .annotate(
            total=Count("pk"),
            active=Count("pk", filter=Q(status=Dealer.Status.ACTIVE)),
            suspended=Count("pk", filter=Q(status=Dealer.Status.SUSPENDED)),
            terminated=Count("pk", filter=Q(status=Dealer.Status.TERMINATED)),
        )
        .order_by("region__code")
    )
    return list(rows)


def regions_for(*, user):
    if user.role == Role.REGION_MANAGER:
        return user.regions.all()
    return Region.objects.all()


def dashboard_dealers(user) -> dict | None:
    """The home page's dealer panel: a dealer's own profile, or counts and a chart by region."""
    if not user.has_perm("dealers.view_dealer"):
        return None
    if user.role == Role.DEALER:
        return {"dealer": user.dealer} if user.dealer_id else None
    by_region = dealer_counts_by_region(user=user)
    peak = max((row["total"] for row in by_region), default=0) or 1
    for row in by_region:
        row["width"] = round(row["total"] * 100 / peak)
    return {
        "by_region": by_region,
        "dealer_total": sum(row["total"] for row in by_region),
        "dealer_active": sum(row["active"] for row in by_region),
        "dealer_suspended": sum(row["suspended"] for row in by_region),
    }


def dashboard_changes(user) -> dict | None:
    """The home page's change-request panel: what waits for ops, and the user's own requests."""
    if not user.has_perm("dealers.view_dealerchangerequest"):
        return None
    context = {
        "my_requests": list(change_request_list(user=user).filter(created_by=user)[:5]),
    }
    if user.role != Role.DEALER:  # a dealer's own requests are the list above
        queue = change_request_queue(user=user)
        context["queue"], context["queue_count"] = list(queue[:8]), queue.count()
    return context
