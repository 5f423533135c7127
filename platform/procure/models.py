"""Every model module, imported once so metadata is complete (migrations, queries)."""
from procure.accounts import models as accounts  # noqa: F401
from procure.catalog import models as catalog  # noqa: F401
from procure.geo import models as geo  # noqa: F401
from procure.notifications import models as notifications  # noqa: F401
from procure.organizations import models as organizations  # noqa: F401
from procure.alerts import models as alerts  # noqa: F401
from procure.workdays import models as workdays  # noqa: F401
from procure.tenders import models as tenders  # noqa: F401
from procure.bids import models as bids  # noqa: F401
from procure.evaluation import models as evaluation  # noqa: F401
from procure.challenges import models as challenges  # noqa: F401
from procure.contracts import models as contracts  # noqa: F401
