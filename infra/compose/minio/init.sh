#!/bin/sh
# Prepares MinIO for etcdfleet backups: the bucket, a policy that allows exactly
# that bucket, and a user with that policy whose keys the worker uses. Runs in
# the minio/mc image on every `up`; every step is an upsert. The mc image has a
# shell and coreutils but no grep, hence `case` for output matching.
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER must be set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD must be set}"
: "${ETCDFLEET_S3_ACCESS_KEY:?ETCDFLEET_S3_ACCESS_KEY must be set}"
: "${ETCDFLEET_S3_SECRET_KEY:?ETCDFLEET_S3_SECRET_KEY must be set}"
ENDPOINT=${MINIO_ENDPOINT:-http://minio:9000}
BUCKET=${ETCDFLEET_S3_BUCKET:-etcd-backups}
POLICY=${ETCDFLEET_S3_POLICY:-etcdfleet-backups}
MAX_ATTEMPTS=${SETUP_MAX_ATTEMPTS:-60}

attempt=1
until mc alias set store "$ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "minio: $ENDPOINT did not accept the root credentials after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

mc mb --ignore-existing "store/$BUCKET"

if [ "$ETCDFLEET_S3_ACCESS_KEY" = "$MINIO_ROOT_USER" ]; then
  # The root user cannot be re-created or given a policy; it can do everything anyway.
  echo "minio: bucket $BUCKET ready; etcdfleet uses the root credentials"
  exit 0
fi

policy_file=$(mktemp)
trap 'rm -f "$policy_file"' EXIT
cat >"$policy_file" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$BUCKET/*"]
    }
  ]
}
EOF
mc admin policy create store "$POLICY" "$policy_file"
# `user add` on an existing user resets its secret: the environment stays the source of truth.
mc admin user add store "$ETCDFLEET_S3_ACCESS_KEY" "$ETCDFLEET_S3_SECRET_KEY"
# A second attach fails with "already in effect", which is the state we want.
if ! out=$(mc admin policy attach store "$POLICY" --user "$ETCDFLEET_S3_ACCESS_KEY" 2>&1); then
  case $out in
    *"already in effect"*) ;;
    *)
      echo "$out" >&2
      exit 1
      ;;
  esac
fi
echo "minio: bucket $BUCKET ready for user $ETCDFLEET_S3_ACCESS_KEY (policy $POLICY)"
