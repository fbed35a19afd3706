"""Lot numbers typed by hand before stock was kept become lots "from old records" (number only,
nothing left to pick), so a recall by lot number finds those sessions too. The records keep the text
as it was typed."""

from django.db import migrations


def link_old_lots(apps, schema_editor):
    SessionLot = apps.get_model("treatments", "SessionLot")
    StockLot = apps.get_model("treatments", "StockLot")
    made = {}
    old = SessionLot.objects.filter(stock_lot__isnull=True).exclude(lot_number="").select_related("line")
    for row in old.iterator():
        number = row.lot_number.strip()[:60]
        if not number:
            continue
        key = (row.line.ingredient_id, number)
        if key not in made:
            made[key], _ = StockLot.objects.get_or_create(
                ingredient_id=key[0],
                lot_number=number,
                defaults={"quantity_received": 0, "quantity_remaining": 0, "from_old_records": True},
            )
        SessionLot.objects.filter(pk=row.pk).update(stock_lot=made[key])


class Migration(migrations.Migration):
    dependencies = [("treatments", "0006_stock_lots_injection_map_corrections")]

    operations = [migrations.RunPython(link_old_lots, migrations.RunPython.noop)]
