import sys
from pathlib import Path

# The reference module sits next to the tests; importlib mode does not add this folder to sys.path.
sys.path.insert(0, str(Path(__file__).parent))
