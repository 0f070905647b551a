-- AlterTable
ALTER TABLE `revoked_tokens` ADD COLUMN `family_id` CHAR(36) NULL;

-- CreateTable
CREATE TABLE `sessions` (
    `id` CHAR(36) NOT NULL,
    `user_id` CHAR(36) NOT NULL,
    `session_epoch` INTEGER UNSIGNED NOT NULL,
    `remember_me` BOOLEAN NOT NULL,
    `ip` VARCHAR(45) NOT NULL,
    `user_agent` VARCHAR(512) NULL,
    `device` VARCHAR(100) NOT NULL,
    `created_at` DATETIME(3) NOT NULL,
    `expires_at` DATETIME(3) NOT NULL,

    INDEX `sessions_user_id_device_idx`(`user_id`, `device`),
    INDEX `sessions_expires_at_idx`(`expires_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `auth_events` (
    `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    `user_id` CHAR(36) NULL,
    `type` VARCHAR(40) NOT NULL,
    `session_id` CHAR(36) NULL,
    `ip` VARCHAR(45) NULL,
    `device` VARCHAR(100) NULL,
    `created_at` DATETIME(3) NOT NULL,
    `details` JSON NULL,

    INDEX `auth_events_user_id_id_idx`(`user_id`, `id`),
    INDEX `auth_events_type_id_idx`(`type`, `id`),
    INDEX `auth_events_created_at_idx`(`created_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateIndex
CREATE INDEX `revoked_tokens_family_id_revoked_at_idx` ON `revoked_tokens`(`family_id`, `revoked_at`);

-- AddForeignKey
ALTER TABLE `sessions` ADD CONSTRAINT `sessions_user_id_fkey` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `auth_events` ADD CONSTRAINT `auth_events_user_id_fkey` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
