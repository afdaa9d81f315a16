"""The one table of S3 errors: code -> (HTTP status, message), and the S3Error value."""

from __future__ import annotations

ERRORS: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AccessForbidden": (403, "CORSResponse: This CORS request is not allowed."),
    "AccountAlreadyExists": (409, "The user has an account of this name already."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (
        400,
        "Error parsing the X-Amz-Credential parameter; the query parameters are malformed.",
    ),
    "BadRequest": (400, "Bad Request"),
    "BadDigest": (400, "The Content-MD5 or checksum you specified did not match what we received."),
    "BucketAlreadyExists": (
        409,
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again.",
    ),
    "BucketAlreadyOwnedByYou": (
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (
        400,
        "Your proposed upload is smaller than the minimum allowed object size.",
    ),
    "ExpiredToken": (400, "The provided token has expired."),
    "InvalidToken": (400, "The provided token is malformed or otherwise invalid."),
    "IllegalLocationConstraintException": (
        400,
        "The unspecified location constraint is incompatible for the region specific endpoint "
        "this request was sent to.",
    ),
    "IllegalVersioningConfigurationException": (
        400,
        "The versioning configuration specified in the request is invalid.",
    ),
    "IncompleteBody": (
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
    "InsufficientStorage": (
        507,
        "There is not enough free storage space for this upload.",
    ),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 or checksum you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location-constraint is not valid."),
    "InvalidPolicyDocument": (
        400,
        "The content of the form does not meet the conditions specified in the policy document.",
    ),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": (
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    ),
    "InvalidTag": (400, "The tag provided was not a valid tag."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "InvalidEncryptionAlgorithmError": (
        400,
        "The encryption request you specified is not valid. The valid value is AES256.",
    ),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "KeyTooLongError": (400, "Your key is too long."),
    "KMS.NotFoundException": (400, "Invalid keyId"),  # SSE-KMS: no such key (oxstore.kms)
    "MalformedACLError": (
        400,
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    ),
    "MalformedPOSTRequest": (
        400,
        "The body of your POST request is not well-formed multipart/form-data.",
    ),
    "MaxPostPreDataLengthExceeded": (
        400,
        "Your POST request fields preceding the upload file were too large.",
    ),
    "MalformedXML": (
        400,
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    ),
    "MetadataTooLarge": (
        400,
        "Your metadata headers exceed the maximum allowed metadata size.",
    ),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "NoSuchAccount": (404, "The specified account does not exist."),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "MalformedPolicy": (400, "Policy has invalid resource"),
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "NoSuchObjectLockConfiguration": (
        404,
        "The specified object does not have a ObjectLock configuration",
    ),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidRetentionPeriod": (
        400,
        "The retention period must be a positive integer of at most 36500 days or 100 years.",
    ),
    "InvalidBucketAclWithObjectOwnership": (
        400,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    ),
    "NoSuchConfiguration": (404, "The specified configuration does not exist."),
    "NoSuchPublicAccessBlockConfiguration": (
        404,
        "The public access block configuration was not found",
    ),
    "NoSuchLimits": (404, "No limits are set for this user or bucket."),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist"),
    "NoSuchWebsiteConfiguration": (
        404,
        "The specified bucket does not have a website configuration",
    ),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "ObjectLockConfigurationNotFoundError": (
        404,
        "Object Lock configuration does not exist for this bucket",
    ),
    "ReplicationConfigurationNotFoundError": (404, "The replication configuration was not found"),
    "ServerSideEncryptionConfigurationNotFoundError": (
        404,
        "The server side encryption configuration was not found",
    ),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchVersion": (
        404,
        "The version ID specified in the request does not match an existing version.",
    ),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchUpload": (
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
    ),
    "NoSuchUser": (404, "The specified user does not exist."),
    "NotImplemented": (
        501,
        "A header you provided implies functionality that is not implemented.",
    ),
    "OwnerHasBuckets": (409, "The user or account owns buckets: delete them first."),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold"),
    "QuotaExceeded": (403, "The upload does not fit in the quota."),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written to within the "
        "timeout period. Idle connections will be closed.",
    ),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the server's time is too large.",
    ),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "TooManyBuckets": (400, "You have attempted to create more buckets than allowed."),
    "SlowDown": (503, "Please reduce your request rate."),
    "TooManyAccessKeys": (
        400,
        "A user or an account has two access key pairs at most: revoke one first.",
    ),
    "UnexpectedContent": (400, "This request does not support content."),
    "UnresolvableGrantByEmailAddress": (
        400,
        "The email address you provided does not match any account on record.",
    ),
    "UserAlreadyExists": (409, "A user with this e-mail address exists already."),
    "XAmzContentSHA256Mismatch": (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
}


class S3Error(Exception):
    """An S3 error answer. `extra` adds elements to the error XML (e.g. BucketName, Key)."""

    def __init__(self, code: str, message: str | None = None, **extra: str) -> None:
        status, default_message = ERRORS[code]
        super().__init__(code, message or default_message)
        self.code = code
        self.status = status
        self.message = message or default_message
        self.extra = extra
        self.headers: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"S3Error({self.code!r}, {self.message!r})"
