import pytest

from ssa_ops.models import SavedView
from ssa_ops.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_user_saves_a_view_of_the_queue_and_opens_it_again(make_user, page_client):
    ops = make_user(Role.OPS)
    client = page_client(ops)
    query = "status=reset&flagged=1&after=abc"
    response = client.post(
        "/views/save/", {"list_name": "claims:list", "name": "我的退回", "query": query}
    )
    # then they are back on the list, filtered as saved (without the page position)
    assert response.status_code == 302
    assert response.url == "/claims/?status=reset&flagged=1"
    page = client.get("/claims/").content.decode()
    assert 'href="?status=reset&amp;flagged=1" data-saved-view="我的退回"' in page
    # built-in views of the role are there too
    assert "OCR mismatch" in page and "Resets to answer" not in page
    # saving under the same name replaces it; another user does not see it
    client.post("/views/save/", {"list_name": "claims:list", "name": "我的退回", "query": "mine=1"})
    assert list(SavedView.objects.values_list("query", flat=True)) == ["mine=1"]
    other = page_client(make_user(Role.OPS))
    assert "我的退回" not in other.get("/claims/").content.decode()
    # nor may delete it
    view = SavedView.objects.get()
    assert other.post(f"/views/{view.pk}/delete/").status_code == 404
    assert client.post(f"/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_bad_input_is_refused_in_words(make_user, page_client):
    client = page_client(make_user(Role.DEALER))
    response = client.post(
        "/views/save/", {"list_name": "claims:list", "name": "a\x00b", "query": ""}, follow=True
    )
    assert response.status_code == 200
    assert not SavedView.objects.exists()
    assert client.post("/views/save/", {"list_name": "nowhere", "name": "x"}).status_code == 404
    page = client.get("/claims/").content.decode()
    assert "Resets to answer" in page and "OCR mismatch" not in page
