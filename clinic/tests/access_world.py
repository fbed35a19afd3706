def url_kwargs(world):
    return {"password_reset_confirm": {"uidb64": "MQ", "token": "bad-token"}}
