CREATE TABLE "audit_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"actor_user_id" uuid,
	"target_user_id" uuid,
	"request_id" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_credentials" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"password_hash" text NOT NULL,
	"password_algo" text NOT NULL,
	"password_set_at" timestamp with time zone DEFAULT now() NOT NULL,
	"password_reset_token_hash" text,
	"password_reset_expires" timestamp with time zone,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"last_failed_at" timestamp with time zone,
	"locked_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "auth_credentials_password_reset_token_hash_unique" UNIQUE("password_reset_token_hash"),
	CONSTRAINT "auth_credentials_failed_attempts_check" CHECK ("auth_credentials"."failed_attempts" >= 0)
);
--> statement-breakpoint
CREATE TABLE "auth_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"refresh_token_hash" text NOT NULL,
	"previous_refresh_token_hash" text,
	"rotated_at" timestamp with time zone,
	"retired_refresh_token_hashes" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_reason" text,
	"user_agent" varchar(512),
	CONSTRAINT "auth_sessions_refresh_token_hash_unique" UNIQUE("refresh_token_hash"),
	CONSTRAINT "auth_sessions_previous_refresh_token_hash_unique" UNIQUE("previous_refresh_token_hash")
);
--> statement-breakpoint
CREATE TABLE "country" (
	"code" char(3) PRIMARY KEY NOT NULL,
	"alpha2" char(2) NOT NULL,
	"numeric_code" char(3) NOT NULL,
	"name" text NOT NULL,
	"dial_code" text,
	CONSTRAINT "country_alpha2_unique" UNIQUE("alpha2")
);
--> statement-breakpoint
CREATE TABLE "oauth_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"provider_user_id" text NOT NULL,
	"email" text,
	"email_verified" boolean DEFAULT false NOT NULL,
	"access_token_encrypted" text,
	"refresh_token_encrypted" text,
	"token_expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oauth_accounts_provider_user_key" UNIQUE("provider","provider_user_id"),
	CONSTRAINT "oauth_accounts_user_provider_key" UNIQUE("user_id","provider"),
	CONSTRAINT "oauth_accounts_provider_check" CHECK (provider IN ('google', 'github', 'facebook'))
);
--> statement-breakpoint
CREATE TABLE "user_kyc" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"government_id_type" varchar(50),
	"government_id_number_encrypted" text,
	"government_id_number_last4" varchar(4),
	"government_id_object_key" text,
	"government_id_content_type" text,
	"government_id_size_bytes" integer,
	"government_id_sha256" char(64),
	"government_id_uploaded_at" timestamp with time zone,
	"gstin_number" varchar(15),
	"business_cert_object_key" text,
	"business_cert_content_type" text,
	"business_cert_size_bytes" integer,
	"business_cert_sha256" char(64),
	"business_cert_uploaded_at" timestamp with time zone,
	"authorized_person_name" varchar(150),
	"trader_type" varchar(50),
	"status" varchar(20) DEFAULT 'draft' NOT NULL,
	"submitted_at" timestamp with time zone,
	"verified_at" timestamp with time zone,
	"rejection_reason" text,
	"reviewed_by" uuid,
	"reviewed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_kyc_user_id_unique" UNIQUE("user_id"),
	CONSTRAINT "user_kyc_status_check" CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
	CONSTRAINT "user_kyc_trader_type_check" CHECK (trader_type IN ('importer', 'exporter', 'both')),
	CONSTRAINT "user_kyc_government_id_type_check" CHECK (government_id_type IN ('pan', 'aadhaar', 'passport', 'voter_id', 'driving_licence', 'national_id')),
	CONSTRAINT "user_kyc_document_size_check" CHECK ("user_kyc"."government_id_size_bytes" BETWEEN 1 AND 10485760 AND "user_kyc"."business_cert_size_bytes" BETWEEN 1 AND 10485760)
);
--> statement-breakpoint
CREATE TABLE "user_profile" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"full_name" varchar(150) NOT NULL,
	"profile_img_url" text,
	"mobile_number" varchar(20),
	"country_code" char(3),
	"address" text,
	"company_name" varchar(255),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_profile_user_id_unique" UNIQUE("user_id"),
	CONSTRAINT "user_profile_mobile_number_unique" UNIQUE("mobile_number"),
	CONSTRAINT "user_profile_mobile_number_e164_check" CHECK ("user_profile"."mobile_number" ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT "user_profile_profile_img_url_https_check" CHECK ("user_profile"."profile_img_url" LIKE 'https://%')
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"username" text,
	"email" text,
	"mobile_number" text,
	"status" text DEFAULT 'pending_verification' NOT NULL,
	"role" text DEFAULT 'user' NOT NULL,
	"profile_setup_at" timestamp with time zone,
	"last_login_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"is_email_verified" boolean DEFAULT false NOT NULL,
	"is_mobile_verified" boolean DEFAULT false NOT NULL,
	CONSTRAINT "users_email_unique" UNIQUE("email"),
	CONSTRAINT "users_mobile_number_unique" UNIQUE("mobile_number"),
	CONSTRAINT "users_status_check" CHECK (status IN ('pending_verification', 'active', 'suspended', 'deleted')),
	CONSTRAINT "users_role_check" CHECK (role IN ('user', 'reviewer', 'admin')),
	CONSTRAINT "users_email_lowercase_check" CHECK (email = lower(email)),
	CONSTRAINT "users_mobile_number_e164_check" CHECK (mobile_number ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT "users_username_format_check" CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$')
);
--> statement-breakpoint
CREATE TABLE "verifications" (
	"id" serial PRIMARY KEY NOT NULL,
	"identifier" varchar(255) NOT NULL,
	"code_hash" varchar(64) NOT NULL,
	"type" varchar(10) NOT NULL,
	"purpose" varchar(20) NOT NULL,
	"user_id" uuid,
	"attempts" integer DEFAULT 0 NOT NULL,
	"consumed_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "verifications_type_check" CHECK (type IN ('email', 'mobile')),
	CONSTRAINT "verifications_purpose_check" CHECK (purpose IN ('signup', 'login', 'email_change', 'mobile_change')),
	CONSTRAINT "verifications_attempts_check" CHECK ("verifications"."attempts" >= 0)
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_target_user_id_users_id_fk" FOREIGN KEY ("target_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_credentials" ADD CONSTRAINT "auth_credentials_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_sessions" ADD CONSTRAINT "auth_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "oauth_accounts" ADD CONSTRAINT "oauth_accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_kyc" ADD CONSTRAINT "user_kyc_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_kyc" ADD CONSTRAINT "user_kyc_reviewed_by_users_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_profile" ADD CONSTRAINT "user_profile_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_profile" ADD CONSTRAINT "user_profile_country_code_country_code_fk" FOREIGN KEY ("country_code") REFERENCES "public"."country"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verifications" ADD CONSTRAINT "verifications_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_target_user_id_idx" ON "audit_events" USING btree ("target_user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_actor_user_id_idx" ON "audit_events" USING btree ("actor_user_id");--> statement-breakpoint
CREATE INDEX "auth_sessions_user_id_idx" ON "auth_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "auth_sessions_retired_hashes_idx" ON "auth_sessions" USING gin ("retired_refresh_token_hashes");--> statement-breakpoint
CREATE INDEX "auth_sessions_expires_at_idx" ON "auth_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "user_kyc_status_submitted_at_idx" ON "user_kyc" USING btree ("status","submitted_at","user_id");--> statement-breakpoint
CREATE INDEX "user_profile_country_code_idx" ON "user_profile" USING btree ("country_code");--> statement-breakpoint
CREATE UNIQUE INDEX "users_username_lower_key" ON "users" USING btree (lower("username"));--> statement-breakpoint
CREATE UNIQUE INDEX "verifications_live_code_key" ON "verifications" USING btree ("purpose","type","identifier") WHERE consumed_at IS NULL;--> statement-breakpoint
CREATE INDEX "verifications_user_id_idx" ON "verifications" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "verifications_expires_at_idx" ON "verifications" USING btree ("expires_at");