"""One colour palette for every picture in the course (Okabe-Ito, colour-blind safe).

Phases of a BSP step always have the same colour: compute, exchange, sync, host.
"""
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

PHASE_COLORS = {
    "compute": OKABE_ITO["blue"],
    "exchange": OKABE_ITO["orange"],
    "sync": "#BBBBBB",
    "host": OKABE_ITO["reddish purple"],
    "remote": OKABE_ITO["bluish green"],      # Streaming Memory (remote buffers)
    "idle": "#F2F2F2",
}

CATEGORY_COLORS = {
    "data": OKABE_ITO["blue"],
    "vertex state": OKABE_ITO["bluish green"],
    "exchange buffers": OKABE_ITO["orange"],
}

OVER_CAPACITY = OKABE_ITO["vermillion"]

# for series without a fixed meaning (tensors, devices, models), in this order
SERIES = [OKABE_ITO[k] for k in ("blue", "orange", "bluish green", "reddish purple", "sky blue",
                                   "vermillion", "yellow", "black")]
