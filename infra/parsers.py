"""The API's JSON parser: DRF's, with one more malformed body turned into a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: NaN and Infinity are refused). A body nested deeper than
    Python's parser goes (`[[[[…]]]]`) raises RecursionError there, which DRF lets through as a
    500; here it is a ParseError like any other malformed body: 400 `malformed_request`."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
