from celery import shared_task

from dealers.services import change_request_apply
from ssa_ops.errors import TransitionNotAllowed
from ssa_ops.models import User


@shared_task(acks_late=True)
def apply_dealer_change_request(request_id, actor_id):
    """Apply an approved request. Run twice, or after ops cancelled it, it changes nothing."""
    actor = User.objects.filter(pk=actor_id).first()
    try:
        return change_request_apply(actor=actor, pk=request_id).status
    except TransitionNotAllowed as refused:
        return refused.code
