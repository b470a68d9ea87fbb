import pytest


@pytest.mark.django_db
def test_healthz_answers_without_touching_services(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["X-Pownce-Server"]
