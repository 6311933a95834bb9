"""The dashboard's languages, Vietnamese first (its own module so the views and the
locale selector in `hotline.staff` share it without importing each other)."""

LANGUAGES = ("vi", "en")
