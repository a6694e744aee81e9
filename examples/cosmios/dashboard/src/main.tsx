import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CosmictronProvider } from '@cosmictron/react';
import { App } from './App';
import { client, restoreSession } from './session';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);
// Restore the session first, so a reload does not flash the sign-in page.
void restoreSession().then((notice) =>
  root.render(
    <StrictMode>
      <CosmictronProvider client={client}>
        <App notice={notice} />
      </CosmictronProvider>
    </StrictMode>,
  ),
);
