-- User-wide revocation moves from time-ordered cut-off rows in the denylist to a per-user session epoch,
-- carried in every refresh token. A user with a cut-off row gets epoch 1, so every refresh token minted
-- before this migration (which carries no epoch, read as 0) stops working for them: conservative, those
-- users log in again once. Nobody else is affected.

-- AlterTable
ALTER TABLE `users` ADD COLUMN `session_epoch` INTEGER UNSIGNED NOT NULL DEFAULT 0;

UPDATE `users` SET `session_epoch` = 1 WHERE `id` IN (SELECT `user_id` FROM `revoked_tokens` WHERE `scope` = 'user');
DELETE FROM `revoked_tokens` WHERE `scope` = 'user';

-- AlterTable
ALTER TABLE `revoked_tokens` MODIFY `scope` ENUM('token', 'family') NOT NULL,
    MODIFY `reason` ENUM('rotated', 'logout', 'reuse_detected') NOT NULL;
