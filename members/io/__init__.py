"""The registry's files in and out: a contract other tools rely on.

read.read_table(data, filename)             -> rows of text cells, each at its place (CSV or XLSX)
validate.validate_table(kind=, table=)      -> ImportPlan (no writes; every row checked)
apply.import_plan_apply(plan=)              -> writes the plan in one transaction
apply.import_rows(kind=, table=)            -> validate, then apply unless there are errors
export.export_rows(kind, commune=, as_of=)  -> the same format out
"""
