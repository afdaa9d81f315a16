// Uploads of local files: one PUT up to MULTIPART_OVER, multipart (PART_SIZE parts) above.
export const MULTIPART_OVER = 16 * 1024 * 1024;
export const PART_SIZE = 8 * 1024 * 1024;

// Uploads `file` as `key`; `onProgress(fraction)` from 0 to 1.
export async function uploadFile(s3, bucket, key, file, onProgress) {
  if (file.size <= MULTIPART_OVER) {
    await s3.putBlob(bucket, key, file, { onProgress: (sent) => onProgress(ratio(sent, file.size)) });
    return;
  }
  await uploadMultipart(s3, bucket, key, file, onProgress);
}

function ratio(sent, size) {
  return size ? Math.min(sent / size, 1) : 1;
}

// Parts go one after another: each already fills the connection, and a failed upload is
// aborted so that its parts do not stay behind.
async function uploadMultipart(s3, bucket, key, file, onProgress) {
  const uploadId = await s3.createMultipart(bucket, key, file.type);
  const etags = [];
  try {
    for (let start = 0, number = 1; start < file.size; start += PART_SIZE, number += 1) {
      const part = file.slice(start, Math.min(start + PART_SIZE, file.size));
      const query = [["partNumber", String(number)], ["uploadId", uploadId]];
      const etag = await s3.putBlob(bucket, key, part, {
        query, onProgress: (sent) => onProgress(ratio(start + sent, file.size)) });
      etags.push(etag);
    }
    await s3.completeMultipart(bucket, key, uploadId, etags);
  } catch (error) {
    await s3.abortMultipart(bucket, key, uploadId).catch(() => {});
    throw error;
  }
}
