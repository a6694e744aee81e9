/**
 * What a person does on the dashboard, shared by the browser suites: sign up, open a page
 * from the navigation, and wait for a status badge. Every helper waits for the DOM to show
 * the result, never for a fixed time.
 */

import type { Page } from 'playwright-core';

export async function signUp(page: Page, email: string): Promise<void> {
  await page.getByRole('tab', { name: 'Sign up' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long secret');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Follows a navigation link (a hash change: the page does not reload). */
export async function go(page: Page, nav: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: nav }).click();
  await page.getByRole('heading', { name: nav === 'Tasks' ? 'Tasks' : nav, exact: true }).first().waitFor();
}

/** Waits until a badge inside `scope` reads exactly `status`. */
export async function badge(page: Page, scope: string, status: string): Promise<void> {
  await page.locator(scope).locator('.badge', { hasText: new RegExp(`^${status}$`) }).first().waitFor();
}
