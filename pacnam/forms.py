from django.contrib import messages


def flash_form_errors(request, form) -> None:
    """Show a form's errors as messages, for the small POST-only forms that redirect
    back to the record's page instead of rendering a page of their own."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
