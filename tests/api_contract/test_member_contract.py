from chama.roles import Role
from tests.api_contract.contract import contract_failures


def test_a_member_gets_only_documented_responses(db):
    failures = contract_failures(Role.MEMBER)
    assert not failures, "\n\n".join(failures)
