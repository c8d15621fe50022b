"""Who signs in, and what is kept about who read what.

second_factor.py  TOTP or recovery code after the password (django-otp)
lockout.py        sign-in throttling (django-axes)
readlog.py        the read log: who opened or exported which members
encryption.py     files encrypted with a passphrase, as streams (backups)
urls.py, views.py the second factor's pages and the read log's page
"""
