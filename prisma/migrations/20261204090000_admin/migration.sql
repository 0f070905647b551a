-- AlterTable
ALTER TABLE `users` ADD COLUMN `disabled_at` DATETIME(3) NULL,
    ADD COLUMN `disabled_reason` VARCHAR(200) NULL,
    ADD COLUMN `last_login_at` DATETIME(3) NULL;

-- CreateIndex
CREATE INDEX `users_role_disabled_at_idx` ON `users`(`role`, `disabled_at`);
