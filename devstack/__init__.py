"""The local stack: embedded Redis and PostgreSQL, the Upstash and PostgREST gateways, and the CLI.

Development and tests only. No function bundle imports or ships this package.
"""
