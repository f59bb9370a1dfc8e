from celery import shared_task

from dealers.services import change_request_apply_approved
from ssa_ops.models import User


@shared_task(acks_late=True)
def apply_dealer_change_request(request_id, actor_id):
    """Apply an approved request. Run twice, or after ops cancelled it, it changes nothing."""
    approved_by = User.objects.filter(pk=actor_id).first()
    return change_request_apply_approved(approved_by=approved_by, pk=request_id).status
