"""Reads about dealers, always scoped to what the user may see."""

from django.db.models import Count, Q
from django.http import Http404

from dealers.models import Dealer, DealerChangeRequest, DealerContact, DealerGroup, Region
from ssa_ops.roles import Role


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
    return contacts.order_by("dealer__code", "-is_primary", "role", "name")


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
        .filter(
            status__in=[DealerChangeRequest.Status.SUBMITTED, DealerChangeRequest.Status.APPROVED]
        )
        .order_by("submitted_at", "pk")
    )


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


def dealer_groups():
    return DealerGroup.objects.all()
