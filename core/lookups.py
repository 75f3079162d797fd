"""`field__any=[…]`: the `__in` lookup for long lists, sent to PostgreSQL as one array."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    """`field__any=values` matches what `field__in=values` matches.

    On PostgreSQL the values travel as one array parameter (`field = ANY(%s::type[])`)
    instead of one placeholder each: a statement with thousands of placeholders costs
    psycopg and the server milliseconds to parse every time, and batches (imports, bulk
    upserts) look records up by thousands of keys. Elsewhere, and for a subquery, it is `IN`.
    """

    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in dict.fromkeys(self.rhs)
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        # The type without its length or precision: a cast to varchar(n) would cut a longer value
        # short, and then match a stored value the longer one is not equal to.
        array_type = field.cast_db_type(connection).split("(")[0]
        return f"{lhs} = ANY(%s::{array_type}[])", [*lhs_params, values]
