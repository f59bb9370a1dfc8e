from celery import shared_task

from dealers.services import change_request_apply
from ssa_ops.models import User


@shared_task(acks_late=True)
def apply_dealer_change_request(request_id, actor_id):
    actor = User.objects.filter(pk=actor_id).first()
    return change_request_apply(actor=actor, request_id=request_id).status
