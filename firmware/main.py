# Box entry point: wires the asyncio tasks (filled in by the firmware application).
from app.version import VERSION

print("autopartage firmware", VERSION)
