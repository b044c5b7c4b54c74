"""The thin library every tierwatch function uses.

Import the module you need (``shared.guard``, ``shared.settings``...), not this package: each
module pulls in only its own dependencies so that a function pays at cold start only for what it uses.
"""
