"""Helpers that are not Loupe's domain and that every app uses: the contract's error shape
and DRF exception handler (`errors`), the API's JSON parser (`parsers`), percentiles and
Wilson intervals (`stats`), and text the database can store (`text`). Imports nothing from
the apps."""
