from app.core.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email already exists."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Email or password is incorrect."


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = "The token is invalid or has expired."


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    message = "The API key is invalid or has been revoked."


class InactiveUser(Unauthorized):
    code = "inactive_user"
    message = "This account is deactivated."


class CsrfRejected(Forbidden):
    code = "csrf_rejected"
    message = "This request did not come from the dashboard's own page."


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "This refresh token was already used; its session has been revoked. Log in again."
    commit_on_raise = True  # the family revocation must persist


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message = "This API key's scopes do not allow this request."


class ApiKeyTooBroad(AppError):
    status_code = 422
    code = "api_key_too_broad"
    message = "A new API key cannot reach more than the key that creates it."


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "API key not found."


__all__ = ["AppError"]
