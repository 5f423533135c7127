from tests.organizations.conftest import fast_passwords  # noqa: F401  (autouse: scrypt once per password)
