"""A made-up program whose functions each misuse a real installed library in one way (one bug each).

The evaluation set generator (`bench/evalset/generate.py`) calls every registered bug and records the
traceback Python prints. Nothing here is imported by logloop.
"""
