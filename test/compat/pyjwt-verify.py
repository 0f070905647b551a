# PyJWT's PyJWKClient as a Python resource server uses it (https://pyjwt.readthedocs.io/en/2.6.0/usage.html
# "Retrieve RSA signing keys from a JWKS endpoint"). Run by jwks-matrix.test.ts with Debian's /usr/bin/python3
# (python3-jwt, python3-cryptography). Reads {"jwksUrl", "issuer", "audience", "tokens": {name: token}} on
# stdin; prints {name: "ok" | "<exception>: <message>"}.
import json
import sys

import jwt
from jwt import PyJWKClient

request = json.load(sys.stdin)
client = PyJWKClient(request["jwksUrl"])
results = {}
for name, token in request["tokens"].items():
    try:
        signing_key = client.get_signing_key_from_jwt(token)
        # PyJWT does not check typ; RFC 9068 says a resource server must.
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("typ is not at+jwt")
        jwt.decode(
            token,
            signing_key.key,
            algorithms=["EdDSA", "ES256", "RS256"],
            audience=request["audience"],
            issuer=request["issuer"],
            leeway=5,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        results[name] = "ok"
    except Exception as error:  # every failure is a refusal, named for the report
        results[name] = f"{type(error).__name__}: {error}"
print(json.dumps(results))
