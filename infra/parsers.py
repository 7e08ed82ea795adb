"""The API's JSON parser: DRF's, with one more malformed body turned into a 400, and bodies
that are not JSON objects refused in one place."""

from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: NaN and Infinity are refused). A body nested deeper than
    Python's parser goes (`[[[[…]]]]`) raises RecursionError there, which DRF lets through as a
    500; here it is a ParseError like any other malformed body: 400 `malformed_request`.

    Every JSON body of the API is an object (API.md, and the schema says so). Another JSON
    value (`null`, a list, a number) is 400 `not_an_object` here, for every endpoint alike,
    where each view used to refuse it its own way (`null` reached the serializers as "no data")."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise ValidationError(ErrorDetail("The body must be a JSON object.", code="not_an_object"))
        return data
