"""Configure logging as the OCS notebooks' ``common/logsetting.py`` does."""

import logging

logging.basicConfig(format="%(asctime)s - %(levelname)s - %(message)s", level=logging.INFO)
