from app.core.errors import AppError, Conflict, NotFound


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message = "Document not found."


class DuplicateDocument(Conflict):
    code = "duplicate_document"
    message = "This bot already has a document with the same content."


class EmptyDocument(AppError):
    status_code = 422
    code = "empty_document"
    message = "The document is empty."


class FileTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    message = "The file is too large."


class UnsupportedFileType(AppError):
    status_code = 415
    code = "unsupported_file_type"
    message = "Unsupported file type; upload PDF, TXT, Markdown, HTML or DOCX."


class InvalidUpload(AppError):
    status_code = 422
    code = "invalid_upload"
    message = "Send the file as multipart/form-data in a field named `file`."


class DocumentBusy(Conflict):
    code = "document_busy"
    message = "The document is being processed; try again when it is ready or failed."
