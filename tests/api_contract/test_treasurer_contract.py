from chama.roles import Role
from tests.api_contract.contract import contract_failures


def test_a_treasurer_gets_only_documented_responses(db):
    failures = contract_failures(Role.TREASURER)
    assert not failures, "\n\n".join(failures)
